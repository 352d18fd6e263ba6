"""Bad input through the CLI: one clear line, exit status 1, and nothing already stored lost."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taxi_platform.cli import cli
from tests.conftest import make_home
from tests.redis_support import free_port

CLI = str(Path(sys.executable).parent / "taxi-platform")


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "TAXI_HOME": str(home), **env}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=full_env, timeout=300)


def fingerprint(directory: Path) -> dict[str, str]:
    """Content hash of every file under ``directory``: what 'nothing lost' is checked against."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def stored_once(tmp_path_factory: pytest.TempPathFactory, sample_csv: Path) -> Path:
    """The real sample and its feature tables stored through the CLI, once per module."""
    home = make_home(tmp_path_factory.mktemp("cli") / "home", sample_csv)
    for step in ("ingest-sample", "features"):
        assert run(home, step).returncode == 0
    return home


@pytest.fixture
def stored(stored_once: Path, tmp_path: Path) -> Path:
    """A copy of that home for one test to break (its paths are all relative to the home)."""
    return Path(shutil.copytree(stored_once, tmp_path / "home"))


def command_paths(group=cli, prefix=()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append((*prefix, name))
        if hasattr(command, "commands"):
            paths += command_paths(command, (*prefix, name))
    return paths


@pytest.mark.parametrize("command", command_paths(), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...], tmp_path: Path) -> None:
    result = run(tmp_path, *command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_missing_csv(stored: Path) -> None:
    before = fingerprint(stored / "feature_repo" / "data")
    result = run(stored, "ingest-sample", "--csv", str(stored / "nope.csv"))
    assert_one_line_error(result, "nope.csv does not exist")
    assert fingerprint(stored / "feature_repo" / "data") == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("fare,trips\n1,2\n", "lacks the sample's columns"),
        (None, "malformed values"),
        ("", "is empty"),
        ("\x00\x01\x02 not text", "lacks the sample's columns"),
    ],
    ids=["missing-columns", "bad-values", "empty-file", "binary"],
)
def test_malformed_csv_keeps_stored_trips(
    stored: Path, sample_csv: Path, content: str | None, message: str
) -> None:
    bad = stored / "bad.csv"
    if content is None:  # the real header with a non-numeric fare in the first row
        lines = sample_csv.read_text().splitlines()
        fields = lines[1].split(",")
        fields[1] = "twelve dollars"
        content = "\n".join([lines[0], ",".join(fields), *lines[2:50]]) + "\n"
    bad.write_text(content)
    before = fingerprint(stored / "feature_repo" / "data")
    assert_one_line_error(run(stored, "ingest-sample", "--csv", str(bad)), message)
    assert fingerprint(stored / "feature_repo" / "data") == before


def test_wrong_file_is_refused_by_the_bad_row_limit(stored: Path, sample_csv: Path) -> None:
    lines = sample_csv.read_text().splitlines()
    zero_miles = [line for line in lines[1:] if line.split(",")[10] in ("0", "0.0")]
    bad = stored / "zeros.csv"
    bad.write_text("\n".join([lines[0], *zero_miles[:100]]) + "\n")
    before = fingerprint(stored / "feature_repo" / "data")
    assert_one_line_error(run(stored, "ingest-sample", "--csv", str(bad)), "TAXI_MAX_BAD_ROW")
    assert fingerprint(stored / "feature_repo" / "data") == before


def test_corrupt_parquet_keeps_feature_tables(stored: Path) -> None:
    data = stored / "feature_repo" / "data"
    month = next((data / "offline_store" / "trips" / "sample").glob("month=*"))
    (month / "part-corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    before = fingerprint(data / "offline_store" / "features")
    assert_one_line_error(run(stored, "features"), "cannot read the stored trips")
    assert fingerprint(data / "offline_store" / "features") == before


def test_unknown_profile(home: Path) -> None:
    assert_one_line_error(run(home, "--profile", "mongo", "features"), "TAXI_PROFILE", "redis")
    assert_one_line_error(run(home, "features", TAXI_PROFILE="cassandra"), "TAXI_PROFILE")


def test_redis_down_is_one_line(stored: Path) -> None:
    result = run(stored, "--profile", "redis", "materialize", TAXI_REDIS_PORT="6399")
    assert_one_line_error(result, "127.0.0.1:6399 does not answer", "TAXI_REDIS_PORT")


def test_no_trips_yet(home: Path) -> None:
    assert_one_line_error(run(home, "features"), "no trips", "ingest-sample")


def test_predict_unknown_trip(stored: Path) -> None:
    result = run(stored, "predict", "trip_nope")
    assert_one_line_error(result, "unknown trip ids ['trip_nope']", "lookup --newest")


def test_predict_without_api(stored: Path) -> None:
    result = run(stored, "predict", "--newest", "2", TAXI_API_PORT=str(free_port()))
    assert_one_line_error(result, "does not answer", "start_feast.sh --api")
