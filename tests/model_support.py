"""A real served model for API tests: the TFX pipeline trained briefly on the real sample.

The pipeline is the only source of a model the API can serve (a SavedModel whose signature
parses raw tf.Examples through the Transform graph). It runs once and is kept under
``var/test-cache/model-<hash of taxi_module.py>``, so later runs reuse it until the code
that makes it changes. Run directly to prebuild: ``.venv/bin/python -m tests.model_support``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from taxi_platform.jobs.training_set import build_training_set
from taxi_platform.settings import PROJECT_ROOT, load_settings
from tests.conftest import build_store, make_home, teardown_store

TRIPS = 3000
PIPELINE_CODE = ("taxi_module.py",)  # the model: its features, transform and training


def _cache_dir() -> Path:
    digest = hashlib.sha256()
    for name in PIPELINE_CODE:
        digest.update((PROJECT_ROOT / "tfx_pipeline" / name).read_bytes())
    return load_settings().var_dir / "test-cache" / f"model-{digest.hexdigest()[:12]}"


def served_model_dir(sample_csv: Path) -> Path:
    """A directory in the Pusher's layout (``<version>/saved_model.pb``) with a blessed model."""
    target = _cache_dir()
    if any(target.glob("*/saved_model.pb")):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = build_store(load_settings(home=make_home(work / "home", sample_csv)))
        try:
            data = build_training_set(settings, work / "training" / "data.csv", TRIPS).path
        finally:
            teardown_store(settings)
        serving = work / "serving"
        subprocess.run(
            [str(settings.pipeline_python), "-m", "tfx_pipeline.run_pipeline",
             "--data-root", str(data.parent), "--output-dir", str(work / "tfx"),
             "--serving-model-dir", str(serving), "--feast-repo-path", str(settings.feature_repo),
             "--no-push-online", "--no-push-offline", "--train-steps", "300", "--eval-steps", "20"],
            cwd=PROJECT_ROOT, check=True,
        )  # fmt: skip
        if not any(serving.glob("*/saved_model.pb")):
            raise RuntimeError(f"the pipeline pushed no blessed model to {serving}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(serving, target.with_suffix(".tmp"), dirs_exist_ok=True)
        target.with_suffix(".tmp").rename(target)
    return target


if __name__ == "__main__":
    from taxi_platform.data.sample import fetch_sample

    print(served_model_dir(fetch_sample(load_settings())))
