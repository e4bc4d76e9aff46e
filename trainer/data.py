"""The Trainer's input pipeline: raw tf.Examples -> Transform graph -> (image, label) batches.

Transform is not materialised (see README, "Transform: not materialised"), so the Trainer applies the
transform graph here once per image and keeps the decoded images in memory for every later epoch.
"""
from typing import List

import tensorflow as tf
import tensorflow_transform as tft

from trainer import features

_SHUFFLE_BUFFER = 10_000  # larger than the data: a full, seeded shuffle each epoch


def _without_autotuning(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Turns tf.data's autotuning off: AUTOTUNE then means one parallel call per core and a fixed prefetch.

    With autotuning on, Keras' switch from one epoch's iterator to the next stalled for seconds (outside the
    epochs, so no epoch time shows it) while the epochs ran no faster; see benchmarks/input_autotune.py and its
    figures in benchmarks/results.md.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _transform_layer_batches(file_pattern: List[str], tf_transform_output: tft.TFTransformOutput,
                             batch_size: int) -> tf.data.Dataset:
    """Yields dicts of transformed features, `batch_size` examples at a time, in file order."""
    files = sorted(tf.io.gfile.glob(file_pattern) if isinstance(file_pattern, str) else
                   [path for pattern in file_pattern for path in tf.io.gfile.glob(pattern)])
    if not files:
        raise ValueError(f"No TFRecord files match {file_pattern}.")
    raw_feature_spec = tf_transform_output.raw_feature_spec()
    transform_layer = tf_transform_output.transform_features_layer()
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(lambda serialized: tf.io.parse_example(serialized, raw_feature_spec),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.map(transform_layer, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def input_dataset(file_pattern: List[str], tf_transform_output: tft.TFTransformOutput, *, batch_size: int,
                  shuffle: bool, seed: int) -> tf.data.Dataset:
    """Batches of (image [B, S, S, 3] float32 in [0, 1], label [B, 1] float32), decoded once and cached.

    The order depends only on `seed` and the files, so the GC and baseline Trainers see identical batches.
    """
    image_key = features.transformed_name(features.IMAGE_KEY)
    label_key = features.transformed_name(features.LABEL_KEY)
    dataset = _transform_layer_batches(file_pattern, tf_transform_output, batch_size)
    dataset = dataset.map(
        lambda transformed: (transformed[image_key],
                             tf.reshape(tf.cast(transformed[label_key], tf.float32), [-1, 1])),
        deterministic=True)
    dataset = dataset.unbatch().cache()
    if shuffle:
        dataset = dataset.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return _without_autotuning(dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE))
