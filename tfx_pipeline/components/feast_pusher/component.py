"""FeastPusher component: writes Transform's output where a Feast view reads it.

Feast cannot be imported next to TFX 1.16 (numpy/pyarrow/protobuf pins), so the component talks
to Feast through files (the offline store) and the platform's feature API (materialization).
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_pipeline.components.feast_pusher import executor

DEFAULT_VIEW_NAME = "transformed_features"


class FeastPushResult(types.Artifact):
    """What a push wrote: rows per split, the view, the event-time range (custom properties)."""

    TYPE_NAME = "taxi.FeastPushResult"  # <namespace>.<Title>: what Kubeflow V2 accepts


class FeastPusherSpec(ComponentSpec):
    """Inputs, parameters and output of FeastPusher."""

    PARAMETERS = {  # noqa: RUF012 (TFX reads these class attributes)
        "feast_repo_path": ExecutionParameter(type=str),
        "push_to_online_store": ExecutionParameter(type=int),
        "push_to_offline_store": ExecutionParameter(type=int),
        "feature_view_name": ExecutionParameter(type=str),
        "api_url": ExecutionParameter(type=str, optional=True),
        "api_key_env": ExecutionParameter(type=str),
        "batch_size": ExecutionParameter(type=int),
        "rows_per_file": ExecutionParameter(type=int),
        "materialize_timeout_seconds": ExecutionParameter(type=int),
    }
    INPUTS = {  # noqa: RUF012
        "transformed_examples": ChannelParameter(type=standard_artifacts.Examples),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph, optional=True),
    }
    OUTPUTS = {"push_result": ChannelParameter(type=FeastPushResult)}  # noqa: RUF012


class FeastPusher(base_component.BaseComponent):
    """Writes every split of the transformed examples to Parquet, then materializes them online.

    Give ``transform_graph`` so the examples are parsed with Transform's own feature spec;
    without it the spec is inferred from the first example of each split. The API key is read
    from the environment variable ``api_key_env`` at run time, never stored in the pipeline
    definition or ML Metadata.
    """

    SPEC_CLASS = FeastPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        transformed_examples: types.BaseChannel,
        feast_repo_path: str,
        push_to_online_store: bool = True,
        push_to_offline_store: bool = True,
        transform_graph: types.BaseChannel | None = None,
        feature_view_name: str = DEFAULT_VIEW_NAME,
        api_url: str | None = None,
        api_key_env: str = "TAXI_API_KEYS",
        batch_size: int = 1024,
        rows_per_file: int = 100_000,
        materialize_timeout_seconds: int = 900,
    ) -> None:
        spec = FeastPusherSpec(
            transformed_examples=transformed_examples,
            transform_graph=transform_graph,
            feast_repo_path=feast_repo_path,
            push_to_online_store=int(push_to_online_store),
            push_to_offline_store=int(push_to_offline_store),
            feature_view_name=feature_view_name,
            api_url=api_url or None,
            api_key_env=api_key_env,
            batch_size=batch_size,
            rows_per_file=rows_per_file,
            materialize_timeout_seconds=materialize_timeout_seconds,
            push_result=types.Channel(type=FeastPushResult),
        )
        super().__init__(spec=spec)
