"""FeastPusher executor on a real (small) Transform output, and AnomalyGate's report.

Run: tfx_pipeline/.venv/bin/python -m unittest discover -s tfx_pipeline/tests
The feature API is stood in for by a local HTTP server that records the materialize call; the
cross-environment test against the real API lives on the platform side.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import unittest
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fixtures
import pyarrow.parquet as pq
import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.types import artifact_utils, standard_artifacts

from tfx_pipeline.components.anomaly_gate import component as gate
from tfx_pipeline.components.feast_pusher import FeastPushResult, executor

SPLITS = {"train": 200, "eval": 100}
KEY_ENV = "TEST_FEAST_PUSHER_KEY"


class FakeApi(BaseHTTPRequestHandler):
    """Accepts POST /feast/materialize; the job is 'running' once, then ``final_status``.

    A finished job reports ``rows_written`` rows for transformed_features, as the API's job
    reports the rows its online store wrote.
    """

    calls: list[tuple[str, str, dict[str, Any] | None, str | None]] = []  # noqa: RUF012
    final_status = "succeeded"
    polls = 0
    rows_written = sum(SPLITS.values())

    def _answer(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _job(self, status: str) -> dict[str, Any]:
        host, port = self.server.server_address[:2]
        url = f"http://{host}:{port}/feast/materialize/job1"
        rows = {"transformed_features": FakeApi.rows_written} if status == "succeeded" else {}
        return {"job_id": "job1", "status": status, "url": url, "error": "boom", "rows": rows}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeApi.calls.append(("POST", self.path, body, self.headers.get("X-API-Key")))
        self._answer(202, self._job("queued"))

    def do_GET(self) -> None:
        FakeApi.calls.append(("GET", self.path, None, self.headers.get("X-API-Key")))
        FakeApi.polls += 1
        self._answer(200, self._job("running" if FakeApi.polls < 2 else FakeApi.final_status))

    def log_message(self, *args: Any) -> None:  # quiet
        pass


def count_records(examples_dir: Path, split: str) -> int:
    files = [str(p) for p in (examples_dir / f"Split-{split}").glob("*.gz")]
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return int(dataset.reduce(0, lambda n, _: n + 1))


def first_examples(examples_dir: Path, split: str, count: int) -> list[tf.train.Example]:
    files = [str(p) for p in (examples_dir / f"Split-{split}").glob("*.gz")]
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(count)
    return [tf.train.Example.FromString(record.numpy()) for record in dataset]


class FeastPusherExecutorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.root = Path(tempfile.mkdtemp(prefix="feast_pusher_test_"))
        cls.graph_dir, cls.examples_dir = fixtures.make_transform_output(cls.root, SPLITS)
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        executor.POLL_SECONDS = 0.05

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.shutdown()
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self) -> None:
        self.repo = Path(tempfile.mkdtemp(dir=self.root, prefix="repo_"))
        FakeApi.calls, FakeApi.polls, FakeApi.final_status = [], 0, "succeeded"
        FakeApi.rows_written = sum(SPLITS.values())

    def run_executor(self, **overrides: Any) -> FeastPushResult:
        examples = standard_artifacts.Examples()
        examples.uri = str(self.examples_dir)
        examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
        graph = standard_artifacts.TransformGraph()
        graph.uri = str(self.graph_dir)
        result = FeastPushResult()
        result.uri = tempfile.mkdtemp(dir=self.root, prefix="result_")
        props = {
            "feast_repo_path": str(self.repo), "push_to_online_store": 0,
            "push_to_offline_store": 1,
            "feature_view_name": "transformed_features", "api_url": None,
            "api_key_env": KEY_ENV, "batch_size": 64, "rows_per_file": 120,
            "materialize_timeout_seconds": 30,
        } | overrides  # fmt: skip
        inputs = {"transformed_examples": [examples], "transform_graph": [graph]}
        executor.Executor().Do(inputs, {"push_result": [result]}, props)
        return result

    def split_table(self, split: str) -> Any:
        return pq.read_table(self.repo / executor.OFFLINE_DIR / f"split={split}").to_pandas()

    def test_rows_equal_records_and_rerun_adds_none(self) -> None:
        for _ in range(2):
            result = self.run_executor()
            for split in SPLITS:
                records = count_records(self.examples_dir, split)
                self.assertEqual(len(self.split_table(split)), records)
                self.assertEqual(result.get_int_custom_property(f"rows_{split}"), SPLITS[split])
        files = sorted(p.name for p in (self.repo / executor.OFFLINE_DIR / "split=train").iterdir())
        self.assertEqual(files, ["part-00000.parquet", "part-00001.parquet"])  # 200 rows / 120
        self.assertEqual(list((self.repo / executor.STAGING_DIR).iterdir()), [])
        facts = result.get_string_custom_property
        self.assertEqual(facts("feature_view_name"), "transformed_features")
        self.assertEqual(facts("min_event_timestamp"), "2015-01-01T00:00:00+00:00")

    def test_values_equal_the_tfrecords(self) -> None:
        self.run_executor()
        table = self.split_table("eval").set_index("trip_id")
        files = self.repo / executor.OFFLINE_DIR / "split=eval"
        schema = pq.read_schema(next(files.iterdir()))
        self.assertEqual(str(schema.field("event_timestamp").type), "timestamp[us, tz=UTC]")
        for example in first_examples(self.examples_dir, "eval", 10):
            features = example.features.feature
            row = table.loc[features["trip_id"].bytes_list.value[0].decode()]
            seconds = features["event_timestamp"].int64_list.value[0]
            self.assertEqual(row["event_timestamp"].timestamp(), seconds)
            for name in ("fare_xf", "company_rating_xf"):
                self.assertAlmostEqual(row[name], features[name].float_list.value[0], places=6)
            for name in ("company_xf", "pickup_latitude_xf", "tips_xf", "trip_start_hour_xf"):
                self.assertEqual(row[name], features[name].int64_list.value[0])

    def test_materializes_the_covered_range(self) -> None:
        os.environ[KEY_ENV] = "secret-key"
        host, port = self.server.server_address[:2]
        result = self.run_executor(push_to_online_store=1, api_url=f"http://{host}:{port}")
        method, path, body, key = FakeApi.calls[0]
        self.assertEqual((method, path, key), ("POST", "/feast/materialize", "secret-key"))
        self.assertEqual(body["feature_views"], ["transformed_features"])
        self.assertEqual(body["start"], "2015-01-01T00:00:00+00:00")  # first trip
        last = 1_420_070_400 + 900 * (sum(SPLITS.values()) - 1) + 1
        self.assertEqual(body["end"], _iso(last))  # last trip + 1 s: the end is exclusive
        self.assertEqual([c[0] for c in FakeApi.calls], ["POST", "GET", "GET"])
        self.assertEqual(result.get_int_custom_property("pushed_online"), 1)
        self.assertEqual(result.get_string_custom_property("materialize_job_id"), "job1")
        self.assertEqual(result.get_int_custom_property("rows_pushed_offline"), 300)
        self.assertEqual(result.get_int_custom_property("rows_written_online"), 300)

    def test_rows_written_online_must_equal_rows_pushed(self) -> None:
        FakeApi.rows_written = 299
        host, port = self.server.server_address[:2]
        message = (
            "300 rows were pushed offline to transformed_features but the online store wrote 299"
        )
        with self.assertRaisesRegex(RuntimeError, message):
            self.run_executor(push_to_online_store=1, api_url=f"http://{host}:{port}")

    def test_failed_materialization_fails_the_component(self) -> None:
        FakeApi.final_status = "failed"
        host, port = self.server.server_address[:2]
        with self.assertRaisesRegex(RuntimeError, "failed: boom"):
            self.run_executor(push_to_online_store=1, api_url=f"http://{host}:{port}")

    def test_online_without_api_url_fails_before_writing(self) -> None:
        with self.assertRaisesRegex(ValueError, "needs api_url"):
            self.run_executor(push_to_online_store=1, api_url="")
        self.assertFalse((self.repo / executor.OFFLINE_DIR).exists())

    def test_without_transform_graph_the_spec_is_inferred(self) -> None:
        spec = executor.infer_feature_spec(
            str(next((self.examples_dir / "Split-train").glob("*.gz")))
        )
        self.assertIn("trip_id", spec)
        self.assertEqual(spec["tips_xf"].dtype, tf.int64)


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat()


class AnomalyGateTest(unittest.TestCase):
    def test_report_names_split_feature_and_reason(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="gate_test_"))
        self.addCleanup(shutil.rmtree, root, True)
        artifact = standard_artifacts.ExampleAnomalies()
        artifact.uri = str(root)
        artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
        for split in ("train", "eval"):
            proto = anomalies_pb2.Anomalies()
            if split == "eval":
                info = proto.anomaly_info["company"]
                info.severity = anomalies_pb2.AnomalyInfo.ERROR
                info.short_description = "Unexpected string values"
                info.description = "Examples contain values missing from the schema: Foo Cab."
            (root / f"Split-{split}").mkdir()
            (root / f"Split-{split}" / gate.ANOMALIES_FILE).write_bytes(proto.SerializeToString())
        with self.assertRaisesRegex(RuntimeError, r"\[eval\] company \(ERROR\): Unexpected"):
            gate.Executor().Do({"anomalies": [artifact]}, {}, {})


if __name__ == "__main__":
    unittest.main()
