"""The Trainer's input pipeline: raw tf.Examples -> Transform graph -> (image, label) batches.

Examples are read through the Trainer's `DataAccessor` (`fn_args.data_accessor`), which honours the Examples
artifact's payload format and compression, as the penguin example does. Transform is not materialised (see README,
"Transform: not materialised"), so the Trainer applies the transform graph here once per image and keeps the
decoded images in memory for every later epoch.
"""
from typing import List

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

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


def transformed_batches(file_pattern: List[str], data_accessor, tf_transform_output: tft.TFTransformOutput,
                        batch_size: int) -> tf.data.Dataset:
    """Dicts of transformed features, `batch_size` examples at a time, in file order, read once."""
    raw_batches = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, num_epochs=1, shuffle=False),
        tf_transform_output.raw_metadata.schema)
    transform_layer = tf_transform_output.transform_features_layer()
    return raw_batches.map(transform_layer, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def input_dataset(file_pattern: List[str], data_accessor, tf_transform_output: tft.TFTransformOutput, *,
                  batch_size: int, shuffle: bool, seed: int) -> tf.data.Dataset:
    """Batches of (image [B, S, S, 3] float32 in [0, 1], label [B, 1] float32), decoded once and cached.

    `data_accessor` is a `tfx.components.DataAccessor`. The order depends only on `seed` and the files, so the
    GC and baseline Trainers see identical batches.
    """
    image_key = features.transformed_name(features.IMAGE_KEY)
    label_key = features.transformed_name(features.LABEL_KEY)
    dataset = transformed_batches(file_pattern, data_accessor, tf_transform_output, batch_size)
    dataset = dataset.map(
        lambda transformed: (transformed[image_key],
                             tf.reshape(tf.cast(transformed[label_key], tf.float32), [-1, 1])),
        deterministic=True)
    dataset = dataset.unbatch().cache()
    if shuffle:
        dataset = dataset.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return _without_autotuning(dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE))
