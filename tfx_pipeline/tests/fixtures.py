"""Test fixture: a small Transform output (graph + gzip TFRecords) made with our own module.

Runs tf.Transform in-process on synthetic raw rows (a few seconds) rather than the whole TFX
Transform component, then lays the files out as Transform does:
``<examples>/Split-<split>/transformed_examples-00000-of-00001.gz`` and ``<graph>/transform_fn``.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
import tensorflow_transform.beam as tft_beam  # noqa: E402
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils  # noqa: E402

from tfx_pipeline import taxi_module  # noqa: E402
from tfx_pipeline.pipeline import CONTRACT  # noqa: E402  (the pipeline gives it to Transform)

STRING_KEYS = {"trip_id", "payment_type", "company"}
INT_KEYS = {
    "event_timestamp", "trip_seconds", "trip_start_hour", "trip_start_day", "trip_start_month",
    "pickup_community_area", "dropoff_community_area", "trips_last_24h",
}  # fmt: skip
FLOAT_KEYS = {
    "trip_miles", "fare", "tips", "pickup_latitude", "pickup_longitude", "dropoff_latitude",
    "dropoff_longitude", "avg_trip_distance", "avg_fare", "avg_trip_seconds", "company_avg_fare",
    "company_rating",
}  # fmt: skip
OPTIONAL_KEYS = {"company", "avg_trip_distance", "avg_fare", "company_avg_fare", "company_rating",
                 "dropoff_community_area", "dropoff_latitude", "dropoff_longitude"}  # fmt: skip


def raw_feature_spec() -> dict[str, tf.io.VarLenFeature]:
    """Every raw feature VarLen, as SchemaGen(infer_feature_shape=False) declares them."""
    kinds = [(STRING_KEYS, tf.string), (INT_KEYS, tf.int64), (FLOAT_KEYS, tf.float32)]
    return {key: tf.io.VarLenFeature(dtype) for keys, dtype in kinds for key in keys}


def raw_rows(count: int, seed: int = 7) -> list[dict]:
    """Synthetic trips; optional features missing in about a third of the rows."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        fare = round(rng.uniform(3.25, 60), 2)
        row = {
            "trip_id": f"trip_{i:06d}", "event_timestamp": 1_420_070_400 + 900 * i,
            "trip_miles": rng.uniform(0.1, 20), "trip_seconds": rng.randint(60, 3600),
            "fare": fare, "tips": rng.choice([0.0, fare * 0.1, fare * 0.25]),
            "payment_type": rng.choice(["Cash", "Credit Card"]),
            "pickup_latitude": rng.uniform(41.7, 42.0),
            "pickup_longitude": rng.uniform(-87.9, -87.5),
            "dropoff_latitude": rng.uniform(41.7, 42.0),
            "dropoff_longitude": rng.uniform(-87.9, -87.5),
            "trip_start_hour": rng.randint(0, 23), "trip_start_day": rng.randint(1, 7),
            "trip_start_month": rng.randint(1, 12), "pickup_community_area": rng.randint(1, 77),
            "dropoff_community_area": rng.randint(1, 77),
            "company": rng.choice(["Flash Cab", "Taxi Affiliation Services"]),
            "avg_trip_distance": rng.uniform(1, 5), "avg_fare": rng.uniform(5, 20),
            "avg_trip_seconds": rng.uniform(300, 900), "trips_last_24h": rng.randint(0, 50),
            "company_avg_fare": rng.uniform(8, 15), "company_rating": rng.uniform(1, 5),
        }  # fmt: skip
        for key in OPTIONAL_KEYS:
            if rng.random() < 0.33:
                row[key] = None
        rows.append({k: ([] if v is None else [v]) for k, v in row.items()})
    return rows


def make_transform_output(root: Path, splits: dict[str, int], seed: int = 7) -> tuple[Path, Path]:
    """Transform graph and transformed examples for ``splits`` (name -> row count); another
    ``seed`` gives the same trips (ids, times) other values, so other z-scores and vocabularies."""
    graph_dir, examples_dir = root / "transform_graph", root / "transformed_examples"
    metadata = dataset_metadata.DatasetMetadata(
        schema_utils.schema_from_feature_spec(raw_feature_spec())
    )
    all_rows = raw_rows(sum(splits.values()), seed)
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(dir=root)):
        (data, out_meta), transform_fn = (
            all_rows,
            metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(
            functools.partial(taxi_module.preprocessing_fn, custom_config=CONTRACT)
        )
        _ = transform_fn | tft_beam.WriteTransformFn(str(graph_dir))
    coder = tft.coders.ExampleProtoCoder(out_meta.schema)
    start = 0
    for split, count in splits.items():
        split_dir = examples_dir / f"Split-{split}"
        split_dir.mkdir(parents=True)
        path = str(split_dir / "transformed_examples-00000-of-00001.gz")
        options = tf.io.TFRecordOptions(compression_type="GZIP")
        with tf.io.TFRecordWriter(path, options) as writer:
            for instance in data[start : start + count]:
                writer.write(coder.encode(instance))
        start += count
    return graph_dir, examples_dir
