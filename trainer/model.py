"""The seed CNN: five Conv2D + max-pooling blocks, dropout, Dense 512 and a sigmoid output.

This is the network of the keras.io Gradient Centralization example (Horses-or-Humans), kept exactly so our
comparison speaks about the same model; at 300 px it has 1,704,097 parameters. Random flip, rotation and zoom
sit in front of it as Keras layers: they act only when `training=True`, so the exported model is deterministic.
"""
import tf_keras

from trainer import features, tracing
from trainer.config import MIN_IMAGE_SIZE

AUGMENTATION_ROTATION = 0.1  # fraction of a full turn, as in Keras' RandomRotation
AUGMENTATION_ZOOM = 0.2


def build_augmentation(seed: int) -> tf_keras.Sequential:
    """Random flip, rotation and zoom for training batches; identity at inference."""
    return tf_keras.Sequential(
        [
            tf_keras.layers.RandomFlip("horizontal", seed=seed),
            tf_keras.layers.RandomRotation(AUGMENTATION_ROTATION, seed=seed + 1),
            tf_keras.layers.RandomZoom(AUGMENTATION_ZOOM, seed=seed + 2),
        ],
        name="augmentation",
    )


def build_model(image_size: int, seed: int) -> tf_keras.Model:
    """Returns the uncompiled seed CNN for `image_size` x `image_size` RGB inputs scaled to [0, 1]."""
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size {image_size} is too small for five conv/pool blocks; "
                         f"use at least {MIN_IMAGE_SIZE} pixels.")
    tracing.keep_autograph_out_of_tf_keras()  # else tracing its train step takes tens of seconds (trainer.tracing)
    inputs = tf_keras.Input(shape=(image_size, image_size, 3), name=features.transformed_name(features.IMAGE_KEY))
    x = build_augmentation(seed)(inputs)
    x = tf_keras.layers.Conv2D(16, 3, activation="relu")(x)
    x = tf_keras.layers.MaxPooling2D(2)(x)
    x = tf_keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = tf_keras.layers.Dropout(0.5)(x)
    x = tf_keras.layers.MaxPooling2D(2)(x)
    x = tf_keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = tf_keras.layers.Dropout(0.5)(x)
    x = tf_keras.layers.MaxPooling2D(2)(x)
    x = tf_keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = tf_keras.layers.MaxPooling2D(2)(x)
    x = tf_keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = tf_keras.layers.MaxPooling2D(2)(x)
    x = tf_keras.layers.Flatten()(x)
    x = tf_keras.layers.Dropout(0.5)(x)
    x = tf_keras.layers.Dense(512, activation="relu")(x)
    outputs = tf_keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return tf_keras.Model(inputs, outputs, name="horses_or_humans_cnn")
