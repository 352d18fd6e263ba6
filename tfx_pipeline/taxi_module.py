"""Transform and Trainer module of the Chicago Taxi pipeline: the TFX taxi example plus Feast.

Written for tf_keras (Keras 2): TensorFlow Transform's layer is a tf_keras model, and the TFX
1.16 wheel's own Keras module breaks under Keras 3 ("inputs not connected to outputs").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow: tf.keras is then Keras 2

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

# Which raw features are z-scored, bucketized, looked up in a vocabulary or passed through as
# categoricals, and their transformed names, are the contract feature_repo/transformed_features.json
# that Feast reads too; the pipeline hands it to Transform and Trainer as their custom_config.
FEATURE_BUCKET_COUNT = 10
VOCAB_SIZE = 1000
OOV_SIZE = 10
# Passed through untouched so the transformed examples can be keyed in Feast (entity, time).
PASSTHROUGH_KEYS = ["trip_id", "event_timestamp"]
FARE_KEY = "fare"
BIG_TIPPER_FRACTION = 0.2
BATCH_SIZE = 40


@dataclass(frozen=True)
class Contract:
    """The transformed features (feature_repo/transformed_features.json), from custom_config."""

    z_scores: list[str]  # dense floats; a missing value becomes the mean (0 after scaling)
    buckets: list[str]
    vocabularies: list[str]
    categoricals: dict[str, int]  # integer categoricals, with the values the model allows
    label: str
    suffix: str

    @classmethod
    def of(cls, custom_config: dict[str, Any]) -> Contract:
        return cls(**{f.name: custom_config[f.name] for f in fields(cls)})

    def name(self, key: str) -> str:
        """A feature's name after Transform."""
        return f"{key}{self.suffix}"

    def model_features(self) -> list[str]:
        keys = self.z_scores + self.buckets + self.vocabularies + list(self.categoricals)
        return [self.name(key) for key in keys]

    def categorical_sizes(self) -> dict[str, int]:
        sizes = {self.name(k): FEATURE_BUCKET_COUNT + 1 for k in self.buckets}
        sizes |= {self.name(k): VOCAB_SIZE + OOV_SIZE for k in self.vocabularies}
        return sizes | {self.name(k): n for k, n in self.categoricals.items()}


def _dense(x: tf.Tensor | tf.SparseTensor, default: float | int | str) -> tf.Tensor:
    """[batch, 1] dense tensor of a possibly missing (sparse) feature, ``default`` where missing."""
    if not isinstance(x, tf.SparseTensor):
        return x
    shaped = tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1])
    return tf.sparse.to_dense(shaped, default_value=default)


def _z_score_fill_mean(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """z-score computed on present values only; missing values get the mean, i.e. 0."""
    return _dense(tft.scale_to_z_score(tf.cast(x, tf.float32)), 0.0)


def preprocessing_fn(
    inputs: dict[str, tf.Tensor], custom_config: dict[str, Any]
) -> dict[str, tf.Tensor]:
    """tf.Transform callback: raw features to model features (full-pass statistics)."""
    contract = Contract.of(custom_config)
    outputs: dict[str, tf.Tensor] = {}
    for key in contract.z_scores:
        outputs[contract.name(key)] = _z_score_fill_mean(inputs[key])
    for key in contract.buckets:
        outputs[contract.name(key)] = tft.bucketize(
            _dense(tf.cast(inputs[key], tf.float32), 0.0), FEATURE_BUCKET_COUNT
        )
    for key in contract.vocabularies:
        outputs[contract.name(key)] = tft.compute_and_apply_vocabulary(
            _dense(inputs[key], ""), top_k=VOCAB_SIZE, num_oov_buckets=OOV_SIZE
        )
    for key in contract.categoricals:
        outputs[contract.name(key)] = _dense(tf.cast(inputs[key], tf.int64), 0)
    for key in PASSTHROUGH_KEYS:
        outputs[key] = _dense(inputs[key], "" if key == "trip_id" else 0)
    fare = _dense(tf.cast(inputs[FARE_KEY], tf.float32), float("nan"))
    tips = _dense(tf.cast(inputs[contract.label], tf.float32), 0.0)
    outputs[contract.name(contract.label)] = tf.where(
        tf.math.is_nan(fare),
        tf.zeros_like(fare, dtype=tf.int64),
        tf.cast(tf.greater(tips, fare * BIG_TIPPER_FRACTION), tf.int64),
    )
    return outputs


def _input_fn(
    file_pattern: list[str], data_accessor: tfx.components.DataAccessor,
    tf_transform_output: tft.TFTransformOutput, batch_size: int, contract: Contract,
) -> tf.data.Dataset:  # fmt: skip
    """Batches of (model features, label), repeated; the Feast keys are dropped."""
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size, label_key=contract.name(contract.label)
        ),
        tf_transform_output.transformed_metadata.schema,
    )
    keys = contract.model_features()
    return dataset.map(lambda features, label: ({k: features[k] for k in keys}, label))


def build_keras_model(contract: Contract, hidden_units: list[int] | None = None) -> keras.Model:
    """Wide (one-hot categoricals) and deep (dense floats through an MLP) binary classifier."""
    deep_inputs = {
        contract.name(k): keras.layers.Input(name=contract.name(k), shape=(1,))
        for k in contract.z_scores
    }
    sizes = contract.categorical_sizes()
    wide_inputs = {
        name: keras.layers.Input(name=name, shape=(1,), dtype=tf.int64) for name in sizes
    }
    deep = keras.layers.concatenate(list(deep_inputs.values()))
    for units in hidden_units or [100, 70, 50, 25]:
        deep = keras.layers.Dense(units, activation="relu")(deep)
    wide = keras.layers.concatenate(
        [
            keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(wide_inputs[name])
            for name, size in sizes.items()
        ]
    )
    output = keras.layers.Dense(1, activation="sigmoid")(keras.layers.concatenate([deep, wide]))
    model = keras.Model(inputs={**deep_inputs, **wide_inputs}, outputs=output)
    model.compile(
        loss="binary_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        metrics=[keras.metrics.BinaryAccuracy(), keras.metrics.AUC(name="auc")],
    )
    return model


def _serving_signatures(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput, contract: Contract
) -> dict:
    """serving_default: serialized raw tf.Examples -> P(big tipper); transform_features for TFMA."""
    model.tft_layer = tf_transform_output.transform_features_layer()  # tracked, so it is saved
    keys = contract.model_features()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        feature_spec = tf_transform_output.raw_feature_spec()
        feature_spec.pop(contract.label)
        transformed = model.tft_layer(tf.io.parse_example(serialized, feature_spec))
        return {"outputs": model({k: transformed[k] for k in keys})}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform_features_fn(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        raw = tf.io.parse_example(serialized, tf_transform_output.raw_feature_spec())
        return model.tft_layer(raw)

    return {
        "serving_default": serve_tf_examples_fn.get_concrete_function(),
        "transform_features": transform_features_fn.get_concrete_function(),
    }


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer callback: train on the transformed examples, export the serving model."""
    contract = Contract.of(fn_args.custom_config)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train, evaluation = (
        _input_fn(files, fn_args.data_accessor, tf_transform_output, BATCH_SIZE, contract)
        for files in (fn_args.train_files, fn_args.eval_files)
    )
    model = build_keras_model(contract)
    model.fit(
        train, steps_per_epoch=fn_args.train_steps, validation_data=evaluation,
        validation_steps=fn_args.eval_steps, verbose=2,
        callbacks=[keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")],
    )  # fmt: skip
    signatures = _serving_signatures(model, tf_transform_output, contract)
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
