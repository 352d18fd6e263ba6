"""Transform and Trainer module of the Chicago Taxi pipeline: the TFX taxi example plus Feast.

Written for tf_keras (Keras 2): TensorFlow Transform's layer is a tf_keras model, and the TFX
1.16 wheel's own Keras module breaks under Keras 3 ("inputs not connected to outputs").
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow: tf.keras is then Keras 2

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

# Dense floats: z-scored; a missing value becomes the mean (0 after scaling).
DENSE_FLOAT_FEATURE_KEYS = [
    "trip_miles", "fare", "trip_seconds",
    "avg_trip_distance", "avg_fare", "company_avg_fare", "company_rating",
]  # fmt: skip
BUCKET_FEATURE_KEYS = [
    "pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude",
]  # fmt: skip
FEATURE_BUCKET_COUNT = 10
VOCAB_FEATURE_KEYS = ["payment_type", "company"]
VOCAB_SIZE = 1000
OOV_SIZE = 10
# Integer categoricals passed through, with the number of distinct values the model allows.
CATEGORICAL_FEATURE_MAX_VALUES = {
    "trip_start_hour": 24,
    "trip_start_day": 8,
    "trip_start_month": 13,
    "pickup_community_area": 78,
    "dropoff_community_area": 78,
}
# Passed through untouched so the transformed examples can be keyed in Feast (entity, time).
PASSTHROUGH_KEYS = ["trip_id", "event_timestamp"]
LABEL_KEY = "tips"
FARE_KEY = "fare"
BIG_TIPPER_FRACTION = 0.2
BATCH_SIZE = 40


def transformed_name(key: str) -> str:
    """Name of a feature after Transform; entity and timestamp keep theirs (Feast joins on them)."""
    return key if key in PASSTHROUGH_KEYS else f"{key}_xf"


def _dense(x: tf.Tensor | tf.SparseTensor, default: float | int | str) -> tf.Tensor:
    """[batch, 1] dense tensor of a possibly missing (sparse) feature, ``default`` where missing."""
    if not isinstance(x, tf.SparseTensor):
        return x
    shaped = tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1])
    return tf.sparse.to_dense(shaped, default_value=default)


def _z_score_fill_mean(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """z-score computed on present values only; missing values get the mean, i.e. 0."""
    return _dense(tft.scale_to_z_score(tf.cast(x, tf.float32)), 0.0)


def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """tf.Transform callback: raw features to model features (full-pass statistics)."""
    outputs: dict[str, tf.Tensor] = {}
    for key in DENSE_FLOAT_FEATURE_KEYS:
        outputs[transformed_name(key)] = _z_score_fill_mean(inputs[key])
    for key in BUCKET_FEATURE_KEYS:
        outputs[transformed_name(key)] = tft.bucketize(
            _dense(tf.cast(inputs[key], tf.float32), 0.0), FEATURE_BUCKET_COUNT
        )
    for key in VOCAB_FEATURE_KEYS:
        outputs[transformed_name(key)] = tft.compute_and_apply_vocabulary(
            _dense(inputs[key], ""), top_k=VOCAB_SIZE, num_oov_buckets=OOV_SIZE
        )
    for key in CATEGORICAL_FEATURE_MAX_VALUES:
        outputs[transformed_name(key)] = _dense(tf.cast(inputs[key], tf.int64), 0)
    for key in PASSTHROUGH_KEYS:
        outputs[key] = _dense(inputs[key], "" if key == "trip_id" else 0)
    fare = _dense(tf.cast(inputs[FARE_KEY], tf.float32), float("nan"))
    tips = _dense(tf.cast(inputs[LABEL_KEY], tf.float32), 0.0)
    outputs[transformed_name(LABEL_KEY)] = tf.where(
        tf.math.is_nan(fare),
        tf.zeros_like(fare, dtype=tf.int64),
        tf.cast(tf.greater(tips, fare * BIG_TIPPER_FRACTION), tf.int64),
    )
    return outputs


def _model_feature_keys() -> list[str]:
    keys = DENSE_FLOAT_FEATURE_KEYS + BUCKET_FEATURE_KEYS + VOCAB_FEATURE_KEYS
    return [transformed_name(key) for key in keys + list(CATEGORICAL_FEATURE_MAX_VALUES)]


def _input_fn(
    file_pattern: list[str], data_accessor: tfx.components.DataAccessor,
    tf_transform_output: tft.TFTransformOutput, batch_size: int,
) -> tf.data.Dataset:  # fmt: skip
    """Batches of (model features, label), repeated; the Feast keys are dropped."""
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size, label_key=transformed_name(LABEL_KEY)
        ),
        tf_transform_output.transformed_metadata.schema,
    )
    keys = _model_feature_keys()
    return dataset.map(lambda features, label: ({k: features[k] for k in keys}, label))


def _categorical_sizes() -> dict[str, int]:
    sizes = {transformed_name(k): FEATURE_BUCKET_COUNT + 1 for k in BUCKET_FEATURE_KEYS}
    sizes |= {transformed_name(k): VOCAB_SIZE + OOV_SIZE for k in VOCAB_FEATURE_KEYS}
    sizes |= {transformed_name(k): n for k, n in CATEGORICAL_FEATURE_MAX_VALUES.items()}
    return sizes


def build_keras_model(hidden_units: list[int] | None = None) -> keras.Model:
    """Wide (one-hot categoricals) and deep (dense floats through an MLP) binary classifier."""
    deep_inputs = {
        transformed_name(k): keras.layers.Input(name=transformed_name(k), shape=(1,))
        for k in DENSE_FLOAT_FEATURE_KEYS
    }
    wide_inputs = {
        name: keras.layers.Input(name=name, shape=(1,), dtype=tf.int64)
        for name in _categorical_sizes()
    }
    deep = keras.layers.concatenate(list(deep_inputs.values()))
    for units in hidden_units or [100, 70, 50, 25]:
        deep = keras.layers.Dense(units, activation="relu")(deep)
    wide = keras.layers.concatenate(
        [
            keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(wide_inputs[name])
            for name, size in _categorical_sizes().items()
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


def _serving_signatures(model: keras.Model, tf_transform_output: tft.TFTransformOutput) -> dict:
    """serving_default: serialized raw tf.Examples -> P(big tipper); transform_features for TFMA."""
    model.tft_layer = tf_transform_output.transform_features_layer()  # tracked, so it is saved
    keys = _model_feature_keys()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        feature_spec = tf_transform_output.raw_feature_spec()
        feature_spec.pop(LABEL_KEY)
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
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = _input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, BATCH_SIZE)
    evaluation = _input_fn(
        fn_args.eval_files, fn_args.data_accessor, tf_transform_output, BATCH_SIZE
    )
    model = build_keras_model()
    model.fit(
        train, steps_per_epoch=fn_args.train_steps, validation_data=evaluation,
        validation_steps=fn_args.eval_steps, verbose=2,
        callbacks=[keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")],
    )  # fmt: skip
    signatures = _serving_signatures(model, tf_transform_output)
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
