"""Scores raw tf.Examples (an ExampleGen split) with a pushed SavedModel, in the pipeline env.

The model's ``serving_default`` signature takes the same serialized raw examples that ExampleGen
wrote, so this is how the pipeline itself sees a trip. Writes one JSON line per example: its
raw feature values and the probability. The platform's parity test compares these with the
prediction API's answers for the same trips (no training/serving skew).

    tfx_pipeline/.venv/bin/python -m tfx_pipeline.score_examples \\
        --examples var/tfx/pipelines/chicago_taxi_feast/CsvExampleGen/examples/1/Split-eval \\
        --model var/serving_model/1764150000 --limit 500 --output /tmp/scores.jsonl
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow, as in training

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tensorflow as tf

BATCH = 100


def read_examples(split_dir: Path, limit: int) -> list[bytes]:
    """The first ``limit`` serialized examples of an ExampleGen split (gzip TFRecords)."""
    files = sorted(str(p) for p in split_dir.glob("*.gz"))
    if not files:
        raise SystemExit(f"error: no *.gz TFRecord files in {split_dir}; give a Split-* directory")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit)
    return [record.numpy() for record in dataset]


def example_values(serialized: bytes) -> dict[str, Any]:
    """Feature name -> its single value (None when the example leaves the feature out)."""
    example = tf.train.Example.FromString(serialized)
    values: dict[str, Any] = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        items = list(getattr(feature, kind).value) if kind else []
        value = items[0] if items else None
        values[name] = value.decode() if isinstance(value, bytes) else value
    return values


def score(model_dir: Path, examples: list[bytes]) -> Iterator[float]:
    serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    for start in range(0, len(examples), BATCH):
        outputs = serve(examples=tf.constant(examples[start : start + BATCH]))["outputs"]
        yield from (float(p) for p in tf.reshape(outputs, [-1]).numpy())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=Path, required=True, help="an ExampleGen Split-* dir")
    parser.add_argument("--model", type=Path, required=True, help="a pushed SavedModel version")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--output", type=Path, required=True, help="JSON lines written here")
    args = parser.parse_args(argv)
    if not (args.model / "saved_model.pb").exists():
        raise SystemExit(f"error: {args.model} holds no saved_model.pb; give a pushed version")
    examples = read_examples(args.examples, args.limit)
    with args.output.open("w") as out:
        for serialized, probability in zip(examples, score(args.model, examples), strict=True):
            row = {"features": example_values(serialized), "probability": probability}
            out.write(json.dumps(row) + "\n")
    print(f"scored {len(examples)} examples with {args.model}", file=sys.stderr)


if __name__ == "__main__":
    main()
