"""The seed CNN as the Trainer compiles it, and its Keras 3 twin with the same layers and the same weights.

The tf_keras model comes from `trainer.task`'s own builder (optimizer, loss, metrics), so a step timed here is
the Trainer's step. The Keras 3 twin is translated layer by layer from that model's configuration rather than
written out again, so the two architectures cannot drift apart.
"""
import keras
import numpy as np
import tensorflow as tf
import tf_keras

from trainer import task
from trainer.config import GC, LEARNING_RATE, TrainerSettings, TrainingConfig
from trainer.gradient_centralization import centralized


def trainer_model(*, method: str, image_size: int, seed: int) -> tf_keras.Model:
    """The Trainer's compiled model; the same `seed` gives the same initial weights with or without GC."""
    tf_keras.utils.set_random_seed(seed)
    return task.build_compiled_model(
        TrainerSettings(method=method, training=TrainingConfig(image_size=image_size, seed=seed)))


def _keras3_layer(layer: tf_keras.layers.Layer) -> keras.layers.Layer:
    if isinstance(layer, tf_keras.Sequential):
        return keras.Sequential([_keras3_layer(inner) for inner in layer.layers], name=layer.name)
    return getattr(keras.layers, type(layer).__name__).from_config(layer.get_config())


def keras3_twin(model: tf_keras.Model, *, method: str, learning_rate: float = LEARNING_RATE) -> keras.Model:
    """`model` rebuilt with Keras 3 layers, its weights copied, compiled like the Trainer (RMSprop, BCE)."""
    inputs = keras.Input(shape=model.input_shape[1:], name=model.layers[0].name)
    outputs = inputs
    for layer in model.layers[1:]:  # the seed CNN is a single chain after its Input layer
        outputs = _keras3_layer(layer)(outputs)
    twin = keras.Model(inputs, outputs, name=model.name)
    twin.set_weights(model.get_weights())
    optimizer = keras.optimizers.RMSprop(learning_rate=learning_rate)
    twin.compile(
        optimizer=centralized(optimizer) if method == GC else optimizer,
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )  # jit_compile stays "auto": XLA on a GPU, not on CPU (Keras 3's default); results record which
    return twin


def fixed_batch(batch_size: int, image_size: int, seed: int) -> tuple:
    """One in-memory batch (images in [0, 1], 0/1 labels) as tensors, so no conversion is timed."""
    rng = np.random.default_rng(seed)
    images = rng.random((batch_size, image_size, image_size, 3), dtype=np.float32)
    labels = rng.integers(0, 2, size=(batch_size, 1)).astype(np.float32)
    return tf.constant(images), tf.constant(labels)
