"""AnomalyGate component: ExampleValidator only records anomalies; this makes them fatal.

Put it after ExampleValidator and make the next step depend on it (``add_upstream_node``): the
run then stops with a readable report instead of training on data that broke the schema.
"""

from __future__ import annotations

import os
from typing import Any

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

ANOMALIES_FILE = "SchemaDiff.pb"


class AnomalyGateSpec(ComponentSpec):
    """One input: ExampleValidator's anomalies. No output: the gate only passes or fails."""

    # TFX reads these class attributes (hence RUF012's mutable class defaults).
    PARAMETERS = {}  # noqa: RUF012
    INPUTS = {  # noqa: RUF012
        "anomalies": ChannelParameter(type=standard_artifacts.ExampleAnomalies)
    }
    OUTPUTS = {}  # noqa: RUF012


def read_anomalies(artifact: types.Artifact) -> dict[str, anomalies_pb2.Anomalies]:
    """The anomalies proto of every split of an ExampleAnomalies artifact."""
    found = {}
    for split in artifact_utils.decode_split_names(artifact.split_names):
        path = os.path.join(artifact_utils.get_split_uri([artifact], split), ANOMALIES_FILE)
        proto = anomalies_pb2.Anomalies()
        with open(path, "rb") as handle:
            proto.ParseFromString(handle.read())
        found[split] = proto
    return found


def report(found: dict[str, anomalies_pb2.Anomalies]) -> str:
    """One line per anomalous feature of each split; empty when all splits are clean."""
    lines = []
    for split, proto in sorted(found.items()):
        for feature, info in sorted(proto.anomaly_info.items()):
            severity = anomalies_pb2.AnomalyInfo.Severity.Name(info.severity)
            lines.append(f"  [{split}] {feature} ({severity}): {info.short_description}"
                         f" - {info.description}")  # fmt: skip
        if proto.HasField("dataset_anomaly_info"):
            info = proto.dataset_anomaly_info
            lines.append(f"  [{split}] <dataset>: {info.short_description} - {info.description}")
    return "\n".join(lines)


class Executor(base_executor.BaseExecutor):
    """Raises with the report when any split has an anomaly."""

    def Do(
        self, input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]], exec_properties: dict[str, Any],
    ) -> None:  # fmt: skip
        artifact = artifact_utils.get_single_instance(input_dict["anomalies"])
        text = report(read_anomalies(artifact))
        if text:
            raise RuntimeError(
                f"ExampleValidator found anomalies (schema: SchemaGen's output), stopping:\n{text}"
            )


class AnomalyGate(base_component.BaseComponent):
    """Fails the run if ExampleValidator reported any anomaly."""

    SPEC_CLASS = AnomalyGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, anomalies: types.BaseChannel) -> None:
        super().__init__(spec=AnomalyGateSpec(anomalies=anomalies))
