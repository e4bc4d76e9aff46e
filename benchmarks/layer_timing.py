"""Where a training step's time goes: each layer's forward and backward pass, timed alone.

Each layer runs on the activations the model feeds it (the previous layers' training-mode output for the fixed
batch), inside its own compiled function that computes what training computes for that layer: its output, the
gradients of its weights and, except for the first layer with weights and the augmentation in front of it (no
gradient flows into the input images), the gradient of its input, all for an upstream gradient of ones. Layers run
one after another, so the times say which layers dominate, not what the whole step costs: the whole model shares
memory and threads differently, and the loss and the optimizer update are not in any layer.
"""
from typing import Dict, List

import numpy as np
import tensorflow as tf
import tf_keras

from benchmarks import paired_timing

COMPUTE_LAYERS = (tf_keras.layers.Conv2D, tf_keras.layers.Dense)  # the layers the FLOP count covers


def _training_pass(layer: tf_keras.layers.Layer, needs_input_gradient: bool):
    @tf.function
    def run(inputs: tf.Tensor) -> List[tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
        sources = list(layer.trainable_weights) + ([inputs] if needs_input_gradient else [])
        if not sources:
            return [outputs]
        return [outputs] + tape.gradient(outputs, sources, output_gradients=tf.ones_like(outputs))

    return run


def layer_seconds(model: tf_keras.Model, images: tf.Tensor, repeats: int) -> List[Dict[str, object]]:
    """Median seconds of each layer's training pass over `repeats` timed runs after one untimed (tracing) run."""
    rows: List[Dict[str, object]] = []
    activations = images
    gradient_reaches_input = False  # nothing upstream of the first weighted layer has weights
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.InputLayer):
            continue
        run = _training_pass(layer, needs_input_gradient=gradient_reaches_input)
        outputs = run(activations)[0]
        seconds = [paired_timing.seconds_of(lambda: run(activations)[-1].numpy()) for _ in range(repeats)]
        rows.append({"layer": layer.name, "kind": type(layer).__name__, "seconds": float(np.median(seconds)),
                     "computes_flops": isinstance(layer, COMPUTE_LAYERS)})
        gradient_reaches_input = gradient_reaches_input or bool(layer.trainable_weights)
        activations = tf.identity(outputs)
    return rows


def efficiency_ceiling(rows: List[Dict[str, object]], step_seconds: float, training_flops: float,
                       peak_flops_per_second: float) -> float:
    """The FLOP-over-peak ratio a step would reach if every Conv2D and Dense layer ran at the matmul peak while
    the other layers kept their share of today's step time (their share of the summed layer times)."""
    total = sum(float(row["seconds"]) for row in rows)
    other = sum(float(row["seconds"]) for row in rows if not row["computes_flops"])
    at_peak = training_flops / peak_flops_per_second
    return at_peak / (at_peak + step_seconds * other / total)
