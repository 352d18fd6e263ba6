"""The Chicago Taxi TFX pipeline, with the transformed features pushed to Feast.

CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator (-> AnomalyGate) -> Transform
-> FeastPusher -> Trainer -> Resolver(latest blessed model) -> Evaluator -> Pusher.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from tfx_pipeline.beam_args import beam_pipeline_args
from tfx_pipeline.components.anomaly_gate import AnomalyGate
from tfx_pipeline.components.feast_pusher import FeastPusher

# The transformed features, as Feast reads them: given to Transform and Trainer (custom_config)
CONTRACT_PATH = Path(__file__).resolve().parents[1] / "feature_repo" / "transformed_features.json"
CONTRACT = json.loads(CONTRACT_PATH.read_text())
LABEL_KEY = f"{CONTRACT['label']}{CONTRACT['suffix']}"
ACCURACY_THRESHOLD = 0.6
API_KEY_ENV = "TAXI_API_KEYS"  # the platform's variable; the pipeline exports one key in it
# Beam's DirectRunner, one worker process per core: the default of every way this pipeline runs
DEFAULT_BEAM_ARGS = beam_pipeline_args()


def eval_config() -> tfma.EvalConfig:
    """Bless at BinaryAccuracy >= 0.6 and no worse than the baseline; AUC reported."""
    accuracy = tfma.MetricConfig(
        class_name="BinaryAccuracy",
        threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": ACCURACY_THRESHOLD}),
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -1e-10}
            ),
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=LABEL_KEY,
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["trip_start_hour"])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    accuracy,
                    tfma.MetricConfig(class_name="AUC"),
                ]
            )
        ],
    )


def _user_code(module_file: str, **function: str) -> dict[str, str]:
    """A .py path is packaged by TFX as a wheel; a dotted module (``tfx_pipeline.taxi_module``)
    is imported as is, for images that already contain it (Kubeflow: no wheel upload at compile).
    """
    if module_file.endswith(".py"):
        return {"module_file": module_file}
    ((argument, name),) = function.items()
    return {argument: f"{module_file}.{name}"}


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    module_file: str,
    serving_model_dir: str,
    metadata_path: str | None,
    feast_repo_path: str,
    api_url: str | None,
    api_key: str | None,
    beam_pipeline_args: list[str],
    train_steps: int = 2000,
    eval_steps: int = 100,
    push_to_online_store: bool = True,
    push_to_offline_store: bool = True,
) -> tfx.dsl.Pipeline:
    """The pipeline; ``metadata_path`` None leaves ML Metadata to the orchestrator (Kubeflow).

    ``api_key`` is not stored in the pipeline: it is exported as $TAXI_API_KEYS for this process
    (the Beam runner runs executors in it); on Kubeflow set that variable on the container.
    """
    if api_key:
        os.environ[API_KEY_ENV] = api_key
    example_gen = tfx.components.CsvExampleGen(input_base=data_root)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=False
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    anomaly_gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"])
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        **_user_code(module_file, preprocessing_fn="preprocessing_fn"),
        custom_config=CONTRACT,
    )  # fmt: skip
    transform.add_upstream_node(anomaly_gate)
    feast_pusher = FeastPusher(
        transformed_examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        feast_repo_path=feast_repo_path,
        push_to_online_store=push_to_online_store,
        push_to_offline_store=push_to_offline_store,
        api_url=api_url,
        api_key_env=API_KEY_ENV,
        feature_view_name=CONTRACT["view"],
    )
    trainer = tfx.components.Trainer(
        **_user_code(module_file, run_fn="run_fn"),
        custom_config=CONTRACT,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=eval_steps),
    )
    trainer.add_upstream_node(feast_pusher)  # train on what the feature store now serves
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(),
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_model_dir)
        ),
    )
    components = [
        example_gen, statistics_gen, schema_gen, example_validator, anomaly_gate, transform,
        feast_pusher, trainer, model_resolver, evaluator, pusher,
    ]  # fmt: skip
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=False,
        metadata_connection_config=(
            tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path)
            if metadata_path
            else None
        ),
        beam_pipeline_args=beam_pipeline_args,
    )
