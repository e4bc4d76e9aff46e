"""MirroredStrategy, one replica vs two: identical training results, and the step-time ratio.

Runs in its own process, because logical devices must be configured before TensorFlow initialises. With two
GPUs it uses them; otherwise it splits the CPU into two logical devices, which share the same cores: that
checks the strategy's correctness and overhead, not scaling.

"Identical" is checked on the seed CNN without its random layers (augmentation, dropout), which draw different
random numbers per replica by design: same seed, same batches, the Trainer's GC RMSprop; losses and weights
after a few steps must agree up to float32 summation order. Step time is `train_on_batch` of the full seed
CNN at the same global batch, in interleaved pairs.
"""
import dataclasses
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras
from absl import logging

from benchmarks import catalog, command_line, models, paired_timing, results
from trainer import task
from trainer.gradient_centralization import centralized

NAME = "mirrored_strategy"
TITLE = catalog.TITLES[NAME]
# Two replicas sum gradients in another order than one: float32 rounding, which RMSprop's division by the root
# mean square can magnify for near-zero gradients, leaves differences near 0.1% of the largest update. Different
# initial weights, batches or losses give differences of the order of the update itself.
IDENTITY_TARGET = results.Target("<=", 0.01)


@dataclasses.dataclass(frozen=True)
class Settings:
    global_batch_size: int
    image_size: int
    identity_steps: int
    pairs: int
    warmup_pairs: int
    seed: int = 42


PRESETS = {
    "full": Settings(global_batch_size=64, image_size=300, identity_steps=3, pairs=8, warmup_pairs=2),
    "quick": Settings(global_batch_size=16, image_size=300, identity_steps=2, pairs=4, warmup_pairs=1),
    "smoke": Settings(global_batch_size=4, image_size=96, identity_steps=1, pairs=1, warmup_pairs=1),
}


def configure_two_devices() -> List[str]:
    """Two GPUs when there are, else two logical CPU devices; must run before TensorFlow initialises."""
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= 2:
        return ["/gpu:0", "/gpu:1"]
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return ["/cpu:0", "/cpu:1"]


def _deterministic_twin(model: tf_keras.Model) -> tf_keras.Model:
    """The seed CNN's own layers (shared weights) without augmentation and dropout, compiled like the Trainer."""
    inputs = tf_keras.Input(shape=model.input_shape[1:])
    outputs = inputs
    for layer in model.layers[1:]:
        if layer.name != "augmentation" and not isinstance(layer, tf_keras.layers.Dropout):
            outputs = layer(outputs)
    twin = tf_keras.Model(inputs, outputs)
    twin.compile(optimizer=centralized(tf_keras.optimizers.RMSprop(task.TrainingConfig.learning_rate)),
                 loss=tf_keras.losses.BinaryCrossentropy())
    return twin


@dataclasses.dataclass
class _Replicated:
    strategy: tf.distribute.Strategy
    model: tf_keras.Model
    twin: tf_keras.Model
    initial_fingerprint: str


def _build(devices: Sequence[str], settings: Settings) -> _Replicated:
    strategy = tf.distribute.MirroredStrategy(list(devices))
    with strategy.scope():
        model = models.trainer_model(use_gc=True, image_size=settings.image_size, seed=settings.seed)
        twin = _deterministic_twin(model)
    return _Replicated(strategy, model, twin, task.weights_fingerprint(model))


def _train_twin(replicated: _Replicated, batches: Sequence[Tuple[tf.Tensor, tf.Tensor]]) -> Tuple[List[float],
                                                                                                   List[np.ndarray]]:
    losses = [float(replicated.twin.train_on_batch(images, labels)) for images, labels in batches]
    return losses, replicated.twin.get_weights()


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    del work_dir
    devices = configure_two_devices()
    if settings.global_batch_size % 2:
        raise ValueError(f"global_batch_size must split evenly over 2 replicas, got {settings.global_batch_size}.")
    one, two = _build(devices[:1], settings), _build(devices, settings)
    initial = one.twin.get_weights()
    batches = [models.fixed_batch(settings.global_batch_size, settings.image_size, settings.seed + step)
               for step in range(settings.identity_steps)]
    one_losses, one_weights = _train_twin(one, batches)
    two_losses, two_weights = _train_twin(two, batches)
    largest_update = max(float(np.abs(after - before).max()) for after, before in zip(one_weights, initial))
    largest_difference = max(float(np.abs(a - b).max()) for a, b in zip(one_weights, two_weights))
    relative_difference = largest_difference / largest_update

    images, labels = models.fixed_batch(settings.global_batch_size, settings.image_size, settings.seed)
    logging.info("Timing %d interleaved pairs: 1 replica, 2 replicas.", settings.pairs)
    paired = paired_timing.interleaved_pairs(lambda: one.model.train_on_batch(images, labels),
                                             lambda: two.model.train_on_batch(images, labels),
                                             pairs=settings.pairs, warmup_pairs=settings.warmup_pairs)
    spread = paired.ratio_spread()
    device_kind = "GPUs" if devices[0].startswith("/gpu") else "logical CPU devices on the same cores"
    figures = [
        results.Figure(
            key="identical_results",
            label=f"weights after {settings.identity_steps} GC steps, 2 replicas vs 1: largest difference / largest "
                  "update",
            value=relative_difference, unit="x",
            spread=(f"largest difference {largest_difference:.2e}, largest update {largest_update:.2e}; losses "
                    f"{', '.join(f'{a:.6f}/{b:.6f}' for a, b in zip(one_losses, two_losses))}; initial weights "
                    f"{'equal' if one.initial_fingerprint == two.initial_fingerprint else 'DIFFERENT'}"),
            target=IDENTITY_TARGET,
            likely_cause_if_missed=(
                "the replicas do not train the same model: gradients not averaged over the global batch, GC "
                "applied before the cross-replica sum, or different initial weights (see the spread)."),
        ),
        results.Figure(
            key="step_time_ratio",
            label=f"train step time, 2 replicas / 1 (global batch {settings.global_batch_size}, {device_kind})",
            value=spread.median, unit="x",
            spread=f"{spread.describe()}; no target: on one machine's shared cores a second replica adds "
                   "coordination and cannot add compute"
            if device_kind != "GPUs" else spread.describe(),
        ),
    ]
    details: Dict[str, object] = {
        "devices": devices, "one_replica_losses": one_losses, "two_replica_losses": two_losses,
        "initial_weights_equal": one.initial_fingerprint == two.initial_fingerprint,
        "one_replica_seconds": paired.a_seconds, "two_replica_seconds": paired.b_seconds}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
