"""A throwaway platform home with its own copy of the Feast repository, for tests and benchmarks.

The copy gets a unique Feast project name, so its Redis keys never mix with the demo's or with
another run's, and the cached real-sample CSV, so nothing is downloaded again.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from taxi_platform.data.sample import sample_csv_path
from taxi_platform.errors import PlatformError
from taxi_platform.settings import PROJECT_ROOT, load_settings

PROJECT_LINE = "project: chicago_taxi"


def make_isolated_home(root: Path, sample_csv: Path, prefix: str) -> Path:
    """Create ``root`` as a home whose Feast project is ``<prefix>_<random>``."""
    repo = root / "feature_repo"
    repo.mkdir(parents=True)
    project = f"{prefix}_{uuid.uuid4().hex[:8]}"
    for source in (PROJECT_ROOT / "feature_repo").glob("*"):
        if source.suffix in (".py", ".json"):  # the definitions and the data they read
            shutil.copy(source, repo / source.name)
        elif source.suffix == ".yaml":
            text = source.read_text()
            if PROJECT_LINE not in text:
                raise PlatformError(f"{source} names no `{PROJECT_LINE}` to make unique")
            (repo / source.name).write_text(text.replace(PROJECT_LINE, f"project: {project}"))
    target = sample_csv_path(load_settings(home=root))
    target.parent.mkdir(parents=True)
    shutil.copy(sample_csv, target)
    return root
