"""Obtain the real Chicago Taxi sample (15,002 trips) from the tfx wheel on the package index."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

SAMPLE_MEMBER = "tfx/examples/chicago_taxi_pipeline/data/simple/data.csv"
SAMPLE_BYTES = 1_922_812


def sample_csv_path(settings: Settings) -> Path:
    return settings.var_dir / "raw" / "chicago_taxi_sample.csv"


def fetch_sample(settings: Settings) -> Path:
    """Download the tfx wheel (no dependencies) with pip and extract the sample CSV once."""
    target = sample_csv_path(settings)
    if target.exists() and target.stat().st_size == SAMPLE_BYTES:
        return target
    download_dir = settings.var_dir / "downloads"
    wheel = _download_tfx_wheel(settings.tfx_version, download_dir)
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(SAMPLE_MEMBER)
    if len(data) != SAMPLE_BYTES:
        raise PlatformError(
            f"{wheel.name} holds a {len(data)}-byte sample, expected {SAMPLE_BYTES}; "
            "set TAXI_TFX_VERSION=1.16.0"
        )
    replace_file_atomically(target, lambda tmp: tmp.write_bytes(data))
    return target


def _download_tfx_wheel(version: str, download_dir: Path) -> Path:
    wheel = download_dir / f"tfx-{version}-py3-none-any.whl"
    if wheel.exists():
        return wheel
    download_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--python-version", "3.10", "--only-binary=:all:",
        f"tfx=={version}", "--dest", str(download_dir),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not wheel.exists():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PlatformError(f"could not download tfx=={version} from the package index: {last}")
    return wheel
