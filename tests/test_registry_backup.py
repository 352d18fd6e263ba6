"""Registry backup and restore through the CLI on a real store: a restored registry serves
again; a corrupt or foreign backup is refused in one line and the live registry is untouched."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from taxi_platform.jobs.feature_health import daily_backup
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.registry_backup import backup_dir, live_registry
from taxi_platform.store.repo import apply_repo, open_store
from tests.conftest import build_store, make_home, teardown_store
from tests.test_cli_errors import assert_one_line_error, run


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, sample_csv: Path) -> Iterator[Settings]:
    home = make_home(tmp_path_factory.mktemp("backup") / "home", sample_csv)
    settings = build_store(load_settings(home=home, profile="sqlite"))
    yield settings
    teardown_store(settings)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backup_file(settings: Settings) -> Path:
    """Back up through the CLI; the newest backup (names sort by time) is the one it made."""
    result = run(settings.home, "registry", "backup")
    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout
    return max(backup_dir(settings).glob("*.db"))


def other_project(settings: Settings) -> str:
    return live_registry(settings)[1]


def serves(settings: Settings) -> bool:
    rows = open_store(settings).get_online_features(
        features=["area_features:avg_fare"], entity_rows=[{"area_id": 8}]
    )
    return rows.to_dict()["avg_fare"][0] is not None


def test_backup_corrupt_live_restore_then_apply_and_serve(store: Settings) -> None:
    saved = backup_file(store)
    assert saved.exists() and saved.with_name(saved.name + ".sha256").exists()
    live, _ = live_registry(store)
    live.write_bytes(b"\x0a\xff this is no registry")
    with pytest.raises(Exception):  # noqa: B017 - whatever Feast raises on a broken registry
        open_store(store).list_feature_views()

    result = run(store.home, "registry", "restore", str(saved))
    assert result.returncode == 0, result.stderr
    assert digest(live) == digest(saved)
    apply_repo(store)
    assert serves(store)


def test_corrupt_or_foreign_backups_are_refused(
    store: Settings, tmp_path: Path, sample_csv: Path
) -> None:
    saved = backup_file(store)
    live, _ = live_registry(store)
    before = digest(live)

    corrupt = Path(shutil.copy(saved, tmp_path / saved.name))
    shutil.copy(saved.with_name(saved.name + ".sha256"), tmp_path)
    corrupt.write_bytes(corrupt.read_bytes()[:-20])
    result = run(store.home, "registry", "restore", str(corrupt))
    assert_one_line_error(result, "is corrupt: sha256")

    other = load_settings(home=make_home(tmp_path / "other", sample_csv), profile="sqlite")
    apply_repo(other)  # another project (every test home has a project of its own)
    foreign_backup = backup_file(other)
    result = run(store.home, "registry", "restore", str(foreign_backup))
    assert_one_line_error(result, other_project(other), "not this repository's")

    assert_one_line_error(run(store.home, "registry", "restore", str(tmp_path / "nope.db")))
    assert digest(live) == before
    assert serves(store)


def test_daily_backup_keeps_the_last_n(store: Settings) -> None:
    settings = load_settings(home=store.home, profile=store.profile, registry_backups_kept=2)
    shutil.rmtree(backup_dir(settings), ignore_errors=True)
    first = daily_backup(settings)
    assert first["taken"]
    assert not daily_backup(settings)["taken"]  # under a day old
    for _ in range(3):
        daily_backup(settings, now=datetime.now(UTC) + timedelta(days=2))
    assert len(list(backup_dir(settings).glob("*.db"))) == 2
    assert len(list(backup_dir(settings).glob("*.db.sha256"))) == 2
