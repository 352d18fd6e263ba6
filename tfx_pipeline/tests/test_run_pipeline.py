"""The run summary reads the evaluated model's own metrics, also when TFMA stored a baseline."""

from __future__ import annotations

import unittest

import fixtures  # noqa: F401 (puts the repository on sys.path)
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from tfx_pipeline.run_pipeline import candidate_metrics


def _metrics(entries: list[tuple[str, str, bool, float]]) -> metrics_for_slice_pb2.MetricsForSlice:
    """A MetricsForSlice as TFMA writes it: entries sorted by key, names repeated per model."""
    proto = metrics_for_slice_pb2.MetricsForSlice()
    for name, model, is_diff, value in entries:
        entry = proto.metric_keys_and_values.add()
        entry.key.name, entry.key.model_name, entry.key.is_diff = name, model, is_diff
        entry.value.double_value.value = value
    return proto


class CandidateMetricsTest(unittest.TestCase):
    def test_first_run_without_baseline(self) -> None:
        proto = _metrics([("auc", "", False, 0.94), ("binary_accuracy", "", False, 0.88)])
        self.assertEqual(candidate_metrics(proto), {"auc": 0.94, "binary_accuracy": 0.88})

    def test_later_run_ignores_baseline_and_differences(self) -> None:
        proto = _metrics([
            ("auc", "baseline", False, 0.90), ("auc", "candidate", False, 0.94),
            ("auc", "candidate", True, 0.04), ("example_count", "candidate", False, 4281.0),
            ("example_count", "candidate", True, 0.0),
        ])  # fmt: skip
        self.assertEqual(candidate_metrics(proto), {"auc": 0.94, "example_count": 4281.0})


if __name__ == "__main__":
    unittest.main()
