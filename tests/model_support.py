"""A real served model for API tests: the TFX pipeline trained briefly on the real sample.

The pipeline is the only source of a model the API can serve (a SavedModel whose signature
parses raw tf.Examples through the Transform graph). A model is kept under
``var/test-cache/model-<hash of the code that makes it>``, so later runs reuse it until that
code changes. In a full run the training DAG's end-to-end test runs first (see conftest's
``pytest_collection_modifyitems``) and leaves its model here (``remember``), so the suite runs
the pipeline once; run alone, a test needing a model trains one the same way (3,000 trips, 300
steps). Run directly to prebuild: ``.venv/bin/python -m tests.model_support``.
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

# The modules serving this model run on one pytest-xdist worker, in this order
# (tests/xdist_support.py), so the model is trained once: by the training DAG's end-to-end test.
MODEL_MODULES = (
    "test_training_e2e.py", "test_api_faults.py", "test_predict_freshness.py",
    "test_ui_pages.py", "test_ui_browser.py",
)  # fmt: skip
TRIPS = 3000  # the training set's size, here and in the training DAG's end-to-end test
TRAIN_STEPS, EVAL_STEPS = 300, 20
# the model: its features, transform and training, and the contract of the transformed features
PIPELINE_CODE = ("tfx_pipeline/taxi_module.py", "feature_repo/transformed_features.json")


def _cache_dir() -> Path:
    digest = hashlib.sha256()
    for name in PIPELINE_CODE:
        digest.update((PROJECT_ROOT / name).read_bytes())
    # The project's var/, not TAXI_HOME's: the training e2e remembers its model while its own
    # test home is set, and the API tests look for it afterwards under theirs.
    cache = load_settings(home=PROJECT_ROOT).var_dir / "test-cache"
    return cache / f"model-{digest.hexdigest()[:12]}"


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
             "--no-push-online", "--no-push-offline", "--train-steps", str(TRAIN_STEPS),
             "--eval-steps", str(EVAL_STEPS)],
            cwd=PROJECT_ROOT, check=True,
        )  # fmt: skip
        return remember(serving)


def remember(serving: Path) -> Path:
    """Keep the blessed models of ``serving`` (the Pusher's layout) as the cached test model."""
    if not any(serving.glob("*/saved_model.pb")):
        raise RuntimeError(f"the pipeline pushed no blessed model to {serving}")
    target = _cache_dir()
    if any(target.glob("*/saved_model.pb")):
        return target
    staging = target.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(serving, staging)
    staging.rename(target)
    return target


if __name__ == "__main__":
    from taxi_platform.data.sample import fetch_sample

    print(served_model_dir(fetch_sample(load_settings())))
