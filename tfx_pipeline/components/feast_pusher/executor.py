"""FeastPusher executor: stream transformed examples to Parquet, then ask the API to materialize.

Memory stays bounded: examples are read with tf.data in batches and each batch is appended to a
Parquet file as a row group. A split is written to a staging directory and swapped in whole, so
a rerun replaces the split instead of adding duplicates, and readers never see half a split.

Every run stamps its rows with a new ``created_timestamp``: the platform's online stores write
the newest version of a row (event time, then created time), so a rerun or a retrained
Transform replaces the values online as it does offline. The artifact records the rows pushed
offline and the rows the online store wrote (counted by the API's materialization job); when
both were pushed and the counts differ, the step fails.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

TIMESTAMP_KEY = "event_timestamp"
CREATED_KEY = "created_timestamp"
EXAMPLES_PATTERN = "transformed_examples-*.gz"
OFFLINE_DIR = Path("data/offline_store/transformed")
STAGING_DIR = Path("data/offline_store/.transformed_staging")  # outside the view's directory
POLL_SECONDS = 2.0

log = logging.getLogger(__name__)
FeatureSpec = dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]


@dataclass
class SplitSummary:
    """What was read from one split: row count and event-time range (unix seconds)."""

    rows: int = 0
    files: list[str] = field(default_factory=list)
    min_ts: int | None = None
    max_ts: int | None = None

    def add(self, timestamps: np.ndarray) -> None:
        self.rows += len(timestamps)
        if len(timestamps):
            low, high = int(timestamps.min()), int(timestamps.max())
            self.min_ts = low if self.min_ts is None else min(self.min_ts, low)
            self.max_ts = high if self.max_ts is None else max(self.max_ts, high)


class Executor(base_executor.BaseExecutor):
    """Writes every split to ``<repo>/data/offline_store/transformed/split=<split>/``."""

    def Do(
        self, input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]], exec_properties: dict[str, Any],
    ) -> None:  # fmt: skip
        self._log_startup(input_dict, output_dict, exec_properties)
        online = bool(exec_properties["push_to_online_store"])
        offline = bool(exec_properties["push_to_offline_store"])
        api_url = exec_properties.get("api_url") or ""
        if online and not api_url:
            raise ValueError("push_to_online_store=True needs api_url (the platform's feature API)")
        examples = artifact_utils.get_single_instance(input_dict["transformed_examples"])
        graphs = input_dict.get("transform_graph") or []
        spec = transformed_feature_spec(graphs[0].uri) if graphs else None
        repo = Path(exec_properties["feast_repo_path"]).resolve()
        summaries = {
            split: self._push_split(examples, split, spec, repo, exec_properties, offline)
            for split in artifact_utils.decode_split_names(examples.split_names)
        }
        view = exec_properties["feature_view_name"]
        job: dict[str, Any] = {}
        if online:
            keys = os.environ.get(exec_properties["api_key_env"], "").split(",")
            key = next((k.strip() for k in keys if k.strip()), "")  # the platform's first key
            job = materialize(api_url, key, view, *_time_range(summaries),
                              timeout=exec_properties["materialize_timeout_seconds"])  # fmt: skip
        result = artifact_utils.get_single_instance(output_dict["push_result"])
        _record(result, summaries, view, repo, offline, job, exec_properties)
        if offline and online:
            check_counts(view, sum(s.rows for s in summaries.values()), written_online(job, view))

    def _push_split(
        self, examples: types.Artifact, split: str, spec: FeatureSpec | None, repo: Path,
        props: dict[str, Any], offline: bool,
    ) -> SplitSummary:  # fmt: skip
        files = sorted(glob.glob(os.path.join(examples.uri, f"Split-{split}", EXAMPLES_PATTERN)))
        if not files:
            raise FileNotFoundError(f"no {EXAMPLES_PATTERN} in split {split} of {examples.uri}")
        spec = spec or infer_feature_spec(files[0])
        if TIMESTAMP_KEY not in spec:
            raise ValueError(f"the transformed examples have no {TIMESTAMP_KEY}: pass it through")
        batches = read_batches(files, spec, props["batch_size"])
        if not offline:
            summary = SplitSummary()
            for batch in batches:
                summary.add(batch[TIMESTAMP_KEY])
            return summary
        summary = write_split(batches, spec, repo, split, props["rows_per_file"])
        log.info("FeastPusher: split %s, %d rows -> %s", split, summary.rows, summary.files)
        return summary


def transformed_feature_spec(transform_graph_uri: str) -> FeatureSpec:
    """Transform's own parsing spec of its output (imported lazily: tft is heavy)."""
    import tensorflow_transform as tft

    return tft.TFTransformOutput(transform_graph_uri).transformed_feature_spec()


def infer_feature_spec(path: str) -> FeatureSpec:
    """Fallback without a transform graph: every feature as it appears in the first example."""
    record = next(iter(tf.data.TFRecordDataset(path, compression_type="GZIP").take(1)))
    example = tf.train.Example.FromString(record.numpy())
    kinds = {"bytes_list": tf.string, "float_list": tf.float32, "int64_list": tf.int64}
    return {
        name: tf.io.VarLenFeature(kinds[feature.WhichOneof("kind")])
        for name, feature in example.features.feature.items()
    }


def read_batches(files: list[str], spec: FeatureSpec, batch_size: int) -> Iterator[dict]:
    """Parsed batches of examples as column -> numpy array (object arrays for lists/missing)."""
    dataset = (
        tf.data.TFRecordDataset(files, compression_type="GZIP")
        .batch(batch_size)
        .map(lambda serialized: tf.io.parse_example(serialized, spec))
        .prefetch(1)
    )
    for parsed in dataset:
        yield {name: _column(name, value, spec[name]) for name, value in parsed.items()}


def _column(name: str, value: tf.Tensor | tf.SparseTensor, spec: Any) -> np.ndarray:
    """One feature of a batch as a 1-D array: scalars (None where missing) or per-row lists."""
    if isinstance(value, tf.SparseTensor):
        rows = tf.RaggedTensor.from_sparse(value).to_list()
        if any(len(row) > 1 for row in rows):
            raise ValueError(f"feature {name} has several values per example; Feast needs one")
        values = np.array([row[0] if row else None for row in rows], dtype=object)
    else:
        array = value.numpy()
        values = array.reshape(len(array)) if int(np.prod(spec.shape or [1])) == 1 else array
    if values.dtype == object or values.dtype.kind == "S":
        values = np.array([_decode(v) for v in values], dtype=object)
    return values


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_decode(v) for v in value]
    return value


def arrow_schema(spec: FeatureSpec) -> pa.Schema:
    """Parquet schema from the feature spec; the event time as a UTC timestamp for Feast."""
    types_ = {tf.string: pa.string(), tf.int64: pa.int64(), tf.float32: pa.float32()}
    fields = []
    for name, feature in sorted(spec.items()):
        if name == TIMESTAMP_KEY:
            fields.append(pa.field(name, pa.timestamp("us", tz="UTC")))
            continue
        kind = types_[feature.dtype]
        shape = getattr(feature, "shape", None) or [1]
        fields.append(pa.field(name, kind if int(np.prod(shape)) == 1 else pa.list_(kind)))
    fields.append(pa.field(CREATED_KEY, pa.timestamp("us", tz="UTC")))
    return pa.schema(fields)


def _table(batch: dict[str, np.ndarray], schema: pa.Schema, created: datetime) -> pa.Table:
    columns = dict(batch)
    columns[TIMESTAMP_KEY] = (batch[TIMESTAMP_KEY].astype("int64") * 1_000_000).astype(
        "datetime64[us]"
    )
    columns[CREATED_KEY] = np.full(len(batch[TIMESTAMP_KEY]), np.datetime64(created, "us"))
    arrays = [pa.array(columns[f.name], type=f.type, from_pandas=True) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_split(
    batches: Iterator[dict], spec: FeatureSpec, repo: Path, split: str, rows_per_file: int
) -> SplitSummary:
    """Writes a split to staging, then swaps it in place of the split's previous files."""
    schema = arrow_schema(spec)
    staging = repo / STAGING_DIR / f"split={split}.{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    created = datetime.now(timezone.utc).replace(tzinfo=None)
    summary, writer, in_file = SplitSummary(), None, 0
    try:
        for batch in batches:
            if writer is None or in_file >= rows_per_file:
                writer = _next_writer(writer, staging, len(summary.files), schema)
                summary.files.append(writer.where)
                in_file = 0
            writer.write_table(_table(batch, schema, created))
            in_file += len(batch[TIMESTAMP_KEY])
            summary.add(batch[TIMESTAMP_KEY])
    finally:
        if writer is not None:
            writer.close()
    target = repo / OFFLINE_DIR / f"split={split}"
    _swap(staging, target)
    summary.files = [str(target / Path(name).name) for name in summary.files]
    return summary


def _next_writer(
    previous: pq.ParquetWriter | None, directory: Path, index: int, schema: pa.Schema
) -> pq.ParquetWriter:
    if previous is not None:
        previous.close()
    return pq.ParquetWriter(str(directory / f"part-{index:05d}.parquet"), schema)


def _swap(staging: Path, target: Path) -> None:
    """Replaces ``target`` by ``staging`` with two renames (the old copy is deleted after)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = staging.with_name(staging.name + ".old")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _time_range(summaries: dict[str, SplitSummary]) -> tuple[datetime, datetime]:
    """[first, last + 1 s) over all splits: the range materialization must cover."""
    lows = [s.min_ts for s in summaries.values() if s.min_ts is not None]
    highs = [s.max_ts for s in summaries.values() if s.max_ts is not None]
    if not lows:
        raise ValueError("the transformed examples are empty: nothing to materialize")
    start = datetime.fromtimestamp(min(lows), timezone.utc)
    return start, datetime.fromtimestamp(max(highs), timezone.utc) + timedelta(seconds=1)


def _http(method: str, url: str, api_key: str, body: dict | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if api_key:
        request.add_header("X-API-Key", api_key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:2000]
        raise RuntimeError(f"{method} {url} answered {error.code}: {detail}") from error


def materialize(
    api_url: str, api_key: str, view: str, start: datetime, end: datetime, timeout: int
) -> dict[str, Any]:
    """Starts ``POST /feast/materialize`` for the view and waits for the job; raises if it fails."""
    body = {"start": start.isoformat(), "end": end.isoformat(), "feature_views": [view]}
    job = _http("POST", f"{api_url.rstrip('/')}/feast/materialize", api_key, body)
    log.info("FeastPusher: materialization job %s started: %s", job.get("job_id"), body)
    deadline = time.monotonic() + timeout
    while job.get("status") not in ("succeeded", "failed"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"materialization job {job.get('url')} not done after {timeout} s")
        time.sleep(POLL_SECONDS)
        job = _http("GET", job["url"], api_key)
    if job["status"] != "succeeded":
        raise RuntimeError(f"materialization job {job.get('url')} failed: {job.get('error')}")
    log.info("FeastPusher: materialization job %s succeeded: %s", job["job_id"], job.get("rows"))
    return job


def written_online(job: dict[str, Any], view: str) -> int:
    """Rows the online store wrote for ``view``, as the API's job counted them from its writes."""
    return int((job.get("rows") or {}).get(view, 0))


def check_counts(view: str, pushed_offline: int, written: int) -> None:
    """Every pushed row (one per trip) must be written online, else the step fails."""
    if written != pushed_offline:
        raise RuntimeError(
            f"FeastPusher: {pushed_offline} rows were pushed offline to {view} but the online "
            f"store wrote {written}: duplicate entity keys in the examples, or a newer version "
            "of some rows already online (see push_result.json)"
        )


def _iso(seconds: int | None) -> str:
    return "" if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).isoformat()


def _record(
    result: types.Artifact, summaries: dict[str, SplitSummary], view: str, repo: Path,
    offline: bool, job: dict[str, Any], props: dict[str, Any],
) -> None:  # fmt: skip
    """Custom properties of the output artifact, plus a JSON copy in its directory."""
    lows = [s.min_ts for s in summaries.values() if s.min_ts is not None]
    highs = [s.max_ts for s in summaries.values() if s.max_ts is not None]
    facts: dict[str, Any] = {
        "feature_view_name": view,
        "offline_path": str(repo / OFFLINE_DIR) if offline else "",
        "rows_by_split": json.dumps({split: s.rows for split, s in summaries.items()}),
        "min_event_timestamp": _iso(min(lows) if lows else None),
        "max_event_timestamp": _iso(max(highs) if highs else None),
        "pushed_offline": int(offline),
        "pushed_online": int(bool(job)),
        "rows_pushed_offline": sum(s.rows for s in summaries.values()) if offline else 0,
        "rows_written_online": written_online(job, view),
        "materialize_job_id": job.get("job_id", ""),
    }
    for split, summary in summaries.items():
        facts[f"rows_{split}"] = summary.rows
    for name, value in facts.items():
        if isinstance(value, int):
            result.set_int_custom_property(name, value)
        else:
            result.set_string_custom_property(name, value)
    os.makedirs(result.uri, exist_ok=True)
    with open(os.path.join(result.uri, "push_result.json"), "w") as handle:
        json.dump(facts | {"files": {k: s.files for k, s in summaries.items()}}, handle, indent=2)
