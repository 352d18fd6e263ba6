"""Compiles the pipeline for Kubeflow Pipelines v2 / Vertex AI into pipeline.json (no run).

Example: tfx_pipeline/.venv/bin/python -m tfx_pipeline.kubeflow_v2 --output-dir /tmp/kfp
The image must contain this repository's tfx_pipeline package and the pipeline environment; paths
(pipeline root, data, Feast repository) must be reachable from the pods, e.g. gs:// or a volume.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse
from pathlib import Path

from tfx_pipeline.pipeline import DEFAULT_BEAM_ARGS, create_pipeline

DEFAULT_IMAGE = "chicago-taxi/tfx-pipeline:latest"


def compile_pipeline(
    output_dir: str, image: str = DEFAULT_IMAGE, pipeline_root: str = "gs://taxi-mlops/tfx",
    data_root: str = "gs://taxi-mlops/training_set", module_file: str = "tfx_pipeline.taxi_module",
    feast_repo_path: str = "/app/feature_repo", api_url: str = "http://taxi-api:8000",
    serving_model_dir: str = "gs://taxi-mlops/serving_model",
    beam_args: list[str] | None = None,
) -> Path:  # fmt: skip
    """Writes ``<output_dir>/pipeline.json``; Kubeflow supplies ML Metadata itself.

    ``beam_args`` (default: DirectRunner, one process per core of the pod) are what each Beam
    component runs with, e.g. Dataflow's flags to leave the pod (tfx_pipeline/beam_args.py).
    """
    pipeline = create_pipeline(
        pipeline_name="chicago-taxi-feast",
        pipeline_root=pipeline_root,
        data_root=data_root,
        module_file=module_file,
        serving_model_dir=serving_model_dir,
        metadata_path=None,
        feast_repo_path=feast_repo_path,
        api_url=api_url,
        api_key=None,  # set TAXI_API_KEYS (one key) on the container from a secret
        beam_pipeline_args=DEFAULT_BEAM_ARGS if beam_args is None else beam_args,
    )
    # Imported here, not through tfx.v1 (which hides it when kfp is missing): the error then
    # names the missing package, kfp-pipeline-spec (tfx[kfp]).
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as kfp_v2

    runner = kfp_v2.KubeflowV2DagRunner(
        config=kfp_v2.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=output_dir,
        output_filename="pipeline.json",
    )
    runner.run(pipeline, write_out=True)
    return Path(output_dir) / "pipeline.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=".", help="where pipeline.json is written")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="container image of every step")
    args = parser.parse_args()
    print(compile_pipeline(args.output_dir, args.image))


if __name__ == "__main__":
    main()
