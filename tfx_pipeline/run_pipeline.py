"""Runs the Chicago Taxi TFX pipeline locally with Beam (BeamDagRunner).

Example (from the repository root):
    tfx_pipeline/.venv/bin/python -m tfx_pipeline.run_pipeline --data-root /tmp/tfx_dev/data \\
        --no-push-online

Beam runs the DirectRunner in --beam-workers processes (0: one per core); --beam-arg (repeatable)
adds Beam flags, e.g. --beam-arg=--runner=FlinkRunner --beam-arg=--flink_master=HOST:8081 for
another runner (the flags of Flink, Spark and Dataflow: tfx_pipeline/beam_args.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow: Keras 2 (tf_keras)

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from absl import logging as absl_logging
from ml_metadata.metadata_store import metadata_store
from tfx.orchestration import metadata
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

from tfx_pipeline.beam_args import beam_pipeline_args
from tfx_pipeline.pipeline import create_pipeline

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _key_from_environment() -> str:
    """The first key of TAXI_API_KEYS, as the platform's settings read that variable."""
    keys = [k.strip() for k in os.environ.get("TAXI_API_KEYS", "").split(",") if k.strip()]
    return keys[0] if keys else ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--data-root", required=True, help="directory holding the training set data.csv")
    add("--pipeline-name", default="chicago_taxi_feast")
    add("--output-dir", default=str(REPO / "var/tfx"),
        help="pipeline root, metadata and serving models go under here")  # fmt: skip
    add("--serving-model-dir", default="",
        help="Pusher's versioned models (default OUTPUT_DIR/serving_model/NAME)")  # fmt: skip
    add("--module-file", default=str(HERE / "taxi_module.py"))
    add("--feast-repo-path", default=str(REPO / "feature_repo"))
    add("--api-url", default=os.environ.get("TAXI_API_URL", ""),
        help="feature API base URL, e.g. http://127.0.0.1:8000 ($TAXI_API_URL)")  # fmt: skip
    add("--api-key", default=_key_from_environment(),
        help="X-API-Key for materialization (default: the first of $TAXI_API_KEYS)")  # fmt: skip
    add("--no-push-online", action="store_true", help="skip materialization (no API needed)")
    add("--no-push-offline", action="store_true", help="do not write the offline store")
    add("--train-steps", type=int, default=2000)
    add("--eval-steps", type=int, default=100)
    add("--beam-workers", type=int, default=0,
        help="DirectRunner processes (0: one per core); the DAG's: TAXI_BEAM_WORKERS")  # fmt: skip
    add("--beam-arg", action="append", dest="beam_args", default=[],
        help="Beam argument, repeatable; --runner=X replaces the DirectRunner")  # fmt: skip
    return parser.parse_args(argv)


def component_times(metadata_path: str, since_ms: int) -> list[tuple[str, str, float]]:
    """(component, state, seconds) of each execution recorded in ML Metadata since ``since_ms``."""
    config = metadata.sqlite_metadata_connection_config(metadata_path)
    store = metadata_store.MetadataStore(config)
    types_ = {t.id: t.name.rsplit(".", 1)[-1] for t in store.get_execution_types()}
    rows = []
    for execution in sorted(store.get_executions(), key=lambda e: e.create_time_since_epoch):
        if execution.create_time_since_epoch < since_ms:
            continue
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1e3
        state = metadata_store.proto.Execution.State.Name(execution.last_known_state)
        rows.append((types_[execution.type_id], state, seconds))
    return rows


def candidate_metrics(metrics_for_slice: Any) -> dict[str, float]:
    """Metric name -> value of the evaluated model alone.

    With a baseline (a blessed model from an earlier run) TFMA also stores each metric for the
    baseline and as the difference between the two; those entries share the metric's name.
    """
    return {
        kv.key.name: kv.value.double_value.value
        for kv in metrics_for_slice.metric_keys_and_values
        if not kv.key.is_diff and kv.key.model_name in ("", "candidate")
    }


def evaluation_summary(metadata_path: str, since_ms: int) -> dict[str, Any]:
    """The Evaluator's overall metrics and blessing of the run that started at ``since_ms``."""
    import tensorflow_model_analysis as tfma

    config = metadata.sqlite_metadata_connection_config(metadata_path)
    store = metadata_store.MetadataStore(config)

    def newest(type_name: str) -> Any | None:
        artifacts = [
            a for a in store.get_artifacts_by_type(type_name)
            if a.create_time_since_epoch >= since_ms
        ]  # fmt: skip
        return max(artifacts, key=lambda a: a.create_time_since_epoch, default=None)

    evaluation, blessing = newest("ModelEvaluation"), newest("ModelBlessing")
    if evaluation is None or blessing is None:
        return {"evaluated": False}
    overall = next(m for m in tfma.load_metrics(evaluation.uri) if not m.slice_key.ListFields())
    values = candidate_metrics(overall)
    return {
        "evaluated": True,
        "binary_accuracy": round(values["binary_accuracy"], 4),
        "auc": round(values["auc"], 4),
        "eval_examples": int(values["example_count"]),
        "blessed": Path(blessing.uri, "BLESSED").exists(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the pipeline; returns its wall time and the evaluation summary."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    absl_logging.set_verbosity(absl_logging.INFO)
    output = Path(args.output_dir).resolve()
    metadata_path = str(output / "metadata" / args.pipeline_name / "metadata.db")
    pipeline = create_pipeline(
        pipeline_name=args.pipeline_name,
        pipeline_root=str(output / "pipelines" / args.pipeline_name),
        data_root=str(Path(args.data_root).resolve()),
        module_file=str(Path(args.module_file).resolve()),
        serving_model_dir=args.serving_model_dir
        or str(output / "serving_model" / args.pipeline_name),
        metadata_path=metadata_path,
        feast_repo_path=str(Path(args.feast_repo_path).resolve()),
        api_url=args.api_url or None,
        api_key=args.api_key or None,
        beam_pipeline_args=beam_pipeline_args(args.beam_workers, args.beam_args),
        train_steps=args.train_steps,
        eval_steps=args.eval_steps,
        push_to_online_store=not args.no_push_online,
        push_to_offline_store=not args.no_push_offline,
    )
    started, started_ms = time.monotonic(), int(time.time() * 1000)
    try:
        BeamDagRunner().run(pipeline)
    finally:
        for name, state, seconds in component_times(metadata_path, started_ms):
            print(f"component {name:32s} {state:9s} {seconds:7.1f} s")
        wall = round(time.monotonic() - started)
        print(f"pipeline {args.pipeline_name}: {wall} s wall")
    summary = {"wall_seconds": wall, **evaluation_summary(metadata_path, started_ms)}
    print(f"evaluation: {summary}")
    return summary


if __name__ == "__main__":
    main()
