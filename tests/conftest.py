"""Shared fixtures: isolated platform homes holding a real Feast repository and real data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import fetch_sample, sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.isolated_home import make_isolated_home
from taxi_platform.store.materialize import materialize_all
from taxi_platform.store.repo import apply_repo, open_store

PROFILES = ["sqlite", "redis"]
POSTGRES = os.environ.get("TAXI_TEST_POSTGRES_DSN", "postgresql://postgres:postgres@127.0.0.1:5432")
FIRST = "test_training_e2e.py"  # trains the model that later API tests serve (model_support)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the training DAG's end-to-end module first: its pipeline run leaves the model that
    the API tests need, so a full run trains once instead of twice (see tests/xdist_support.py
    for how the modules are spread over workers)."""
    items.sort(key=lambda item: item.path.name != FIRST)  # stable: the rest keep their order


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Whole modules per worker (tests/xdist_support.py), whatever ``--dist`` says."""
    from tests.xdist_support import ModuleScheduling

    return ModuleScheduling(config, log)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what tests measured (``record_property("measured", ...)``), passing ones too, so
    CI's log shows it; user properties reach the controller under pytest-xdist, prints don't."""
    lines = [
        f"{report.nodeid}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "measured"
    ]
    if lines:
        terminalreporter.section("measured by the tests")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def sample_csv() -> Path:
    """The real sample CSV, downloaded once into the project's var/ cache."""
    return fetch_sample(load_settings())


def make_home(root: Path, sample_csv: Path) -> Path:
    """A home with its own Feast project (see taxi_platform.store.isolated_home)."""
    return make_isolated_home(root, sample_csv, "taxi_test")


def build_store(settings: Settings) -> Settings:
    """Ingest the real sample, compute features, apply and materialize: the main job."""
    ingest_sample_csv(settings, sample_csv_path(settings))
    compute_features(settings)
    apply_repo(settings)
    materialize_all(settings)
    return settings


def teardown_store(settings: Settings) -> None:
    """Remove the test project's online data (its Redis keys) so runs leave nothing behind."""
    open_store(settings).teardown()


@pytest.fixture
def home(tmp_path: Path, sample_csv: Path) -> Path:
    return make_home(tmp_path / "home", sample_csv)


@pytest.fixture(scope="module", params=PROFILES)
def built_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_csv: Path
) -> Iterator[Settings]:
    """A store built from the real sample, once per module and online store profile."""
    home = make_home(tmp_path_factory.mktemp(f"store-{request.param}"), sample_csv)
    settings = build_store(load_settings(home=home, profile=request.param))
    yield settings
    teardown_store(settings)


@pytest.fixture(scope="session", autouse=True)
def redis_available() -> None:
    """Tests run against the real Redis; fail fast with the fix when it is not running."""
    settings = load_settings()
    try:
        redis.Redis(host=settings.redis_host, port=settings.redis_port).ping()
    except redis.RedisError:
        pytest.exit(
            f"Redis is not answering on {settings.redis_connection_string}; "
            "start it with `scripts/services.sh start redis` (make test does)",
            returncode=3,
        )


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (Airflow's metadata), dropped afterwards; its SQLAlchemy URL."""
    name = f"taxi_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(f"{POSTGRES}/postgres")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    yield f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"
    admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def platform_env(monkeypatch, tmp_path, sample_csv):
    """Point the DAGs' settings at an isolated home; yields a function choosing the profile."""
    home = make_home(tmp_path / "home", sample_csv)
    monkeypatch.setenv("TAXI_HOME", str(home))
    monkeypatch.setenv("TAXI_TASK_RETRY_DELAY_SECONDS", "1")
    used = []

    def use(profile: str, **env: str):
        monkeypatch.setenv("TAXI_PROFILE", profile)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        used.append(settings)
        return settings

    yield use
    for settings in used:
        teardown_store(settings)
