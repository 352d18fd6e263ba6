"""FeastPusher's executor, driven by the platform's test against the real API.

The platform's environment cannot import the pipeline's, so tests/test_feast_pusher_api.py starts
this worker in the pipeline environment and sends one JSON command per line on stdin; each
answer is one JSON line on stdout (everything else goes to stderr). TensorFlow loads once:

* ``{"make": DIR, "seed": N}``: a small real Transform output under DIR (fixtures.py): the same
  trips for every seed, other values, so other z-scores and vocabularies. Answers ``{"ok": true}``.
* ``{"push": DIR, "repo": REPO, "api_url": URL, "api_key_env": NAME}``: the executor on DIR's
  output, offline and online, as the pipeline runs it. Answers the run's push_result.json, or
  ``{"error": "..."}`` when the executor raised.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import fixtures
from tfx.types import artifact_utils, standard_artifacts

from tfx_pipeline.components.feast_pusher import FeastPushResult, executor

SPLITS = {"train": 200, "eval": 100}


def make(directory: str, seed: int) -> dict[str, Any]:
    fixtures.make_transform_output(Path(directory), SPLITS, seed)
    return {"ok": True}


def push(directory: str, repo: str, api_url: str, api_key_env: str) -> dict[str, Any]:
    """One FeastPusher run on a Transform output made by ``make``."""
    examples = standard_artifacts.Examples()
    examples.uri = str(Path(directory) / "transformed_examples")
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(Path(directory) / "transform_graph")
    result = FeastPushResult()
    result.uri = tempfile.mkdtemp(prefix="push_result_")
    props = {
        "feast_repo_path": repo, "push_to_online_store": 1, "push_to_offline_store": 1,
        "feature_view_name": "transformed_features", "api_url": api_url,
        "api_key_env": api_key_env, "batch_size": 64, "rows_per_file": 1000,
        "materialize_timeout_seconds": 120,
    }  # fmt: skip
    inputs = {"transformed_examples": [examples], "transform_graph": [graph]}
    executor.Executor().Do(inputs, {"push_result": [result]}, props)
    return json.loads((Path(result.uri) / "push_result.json").read_text())


def answer(command: dict[str, Any]) -> dict[str, Any]:
    try:
        if "make" in command:
            return make(command["make"], command["seed"])
        return push(command["push"], command["repo"], command["api_url"], command["api_key_env"])
    except Exception as error:  # the test shows it; the worker keeps serving
        return {"error": f"{type(error).__name__}: {error}"}


def main() -> None:
    out, sys.stdout = sys.stdout, sys.stderr  # libraries' prints must not mix with answers
    executor.POLL_SECONDS = 0.1
    for line in sys.stdin:
        out.write(json.dumps(answer(json.loads(line))) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
