"""Candidate speed-ups of the training step, each against the Trainer's step as it is, in interleaved pairs.

- XLA for the optimizer update: tf_keras compiles `update_step` with XLA by default only when a GPU is visible;
  here it is forced on and compared with the Trainer's default on this machine.
- XLA for the whole train step (`compile(jit_compile=True)`): reported as not applicable when XLA cannot
  compile the model on this device (random augmentation uses ImageProjectiveTransformV3, which XLA's CPU
  backend lacks).
- Augmentation moved out of the model (into tf.data, where it would run on the input pipeline's threads beside
  the step): the same model without its random flip/rotation/zoom layers, which is what XLA needs on CPU; and
  that model with XLA for the whole train step. Both price what the move could win; the Trainer does not do it.
- Mixed precision (`mixed_float16`): measured only on a GPU; on CPU, float16 convolutions are emulated and the
  issue asks for it on GPU only.

Each row says whether the Trainer uses the candidate today, read from the model it builds.
"""
import dataclasses
import re
from typing import Callable, Dict, List, Tuple

import tensorflow as tf
import tf_keras
from absl import logging

from benchmarks import catalog, command_line, models, paired_timing, results
from trainer.config import GC

NAME = "speedups"
AUGMENTATION_LAYER = "augmentation"  # trainer.model.build_augmentation's Sequential
TITLE = catalog.TITLES[NAME]


@dataclasses.dataclass(frozen=True)
class Settings:
    batch_size: int
    image_size: int
    pairs: int
    warmup_pairs: int
    seed: int = 42


PRESETS = {
    "full": Settings(batch_size=128, image_size=300, pairs=10, warmup_pairs=2),
    "quick": Settings(batch_size=8, image_size=150, pairs=2, warmup_pairs=1),
    "smoke": Settings(batch_size=2, image_size=96, pairs=2, warmup_pairs=1),
}


def _trainer_model(settings: Settings) -> tf_keras.Model:
    return models.trainer_model(method=GC, image_size=settings.image_size, seed=settings.seed)


def _xla_update(settings: Settings) -> Tuple[tf_keras.Model, bool]:
    model = _trainer_model(settings)
    trainer_uses_it = bool(model.optimizer.jit_compile)
    model.optimizer.jit_compile = True
    return model, trainer_uses_it


def _xla_whole_step(settings: Settings) -> Tuple[tf_keras.Model, bool]:
    model = _trainer_model(settings)
    trainer_uses_it = bool(model.jit_compile)
    model.jit_compile = True
    return model, trainer_uses_it


def _without_augmentation(settings: Settings, jit_compile: bool = False) -> Tuple[tf_keras.Model, bool]:
    """The Trainer's model minus its augmentation layers, same weights, compiled as the Trainer compiles."""
    trainer_model = _trainer_model(settings)
    fresh = _trainer_model(settings)  # only for a fresh optimizer and the Trainer's compile arguments
    inputs = tf_keras.Input(shape=trainer_model.input_shape[1:], name="image")
    outputs = inputs
    for layer in trainer_model.layers[1:]:
        if layer.name != AUGMENTATION_LAYER:
            outputs = layer(outputs)
    model = tf_keras.Model(inputs, outputs)
    model.compile(optimizer=fresh.optimizer, loss=fresh.loss, metrics=fresh.compiled_metrics._user_metrics,
                  jit_compile=jit_compile)  # pylint: disable=protected-access
    trainer_uses_it = not any(layer.name == AUGMENTATION_LAYER for layer in trainer_model.layers)
    return model, trainer_uses_it and (bool(trainer_model.jit_compile) or not jit_compile)


def _mixed_precision(settings: Settings) -> Tuple[tf_keras.Model, bool]:
    trainer_uses_it = tf_keras.mixed_precision.global_policy().name == "mixed_float16"
    tf_keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        return _trainer_model(settings), trainer_uses_it
    finally:
        tf_keras.mixed_precision.set_global_policy("float32")


_CANDIDATES: Dict[str, Tuple[str, Callable[[Settings], Tuple[tf_keras.Model, bool]]]] = {
    "xla_update_step": ("XLA-compiled optimizer update", _xla_update),
    "xla_train_step": ("XLA-compiled whole train step", _xla_whole_step),
    "augmentation_in_tf_data": ("augmentation out of the model (into tf.data)", _without_augmentation),
    "xla_without_augmentation": ("augmentation out of the model, and XLA for the whole train step",
                                 lambda settings: _without_augmentation(settings, jit_compile=True)),
    "mixed_precision": ("mixed precision (mixed_float16)", _mixed_precision),
}


def _compare(label: str, key: str, candidate: tf_keras.Model, baseline: tf_keras.Model, trainer_uses_it: bool,
             batch: Tuple[tf.Tensor, tf.Tensor], settings: Settings) -> Tuple[results.Figure, Dict[str, object]]:
    images, labels = batch
    try:
        candidate.train_on_batch(images, labels)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        reason = _short_reason(str(error))
        return _not_measured(label, key, f"not applicable here: {reason}", trainer_uses_it), {"error": reason}
    paired = paired_timing.interleaved_pairs(lambda: baseline.train_on_batch(images, labels),
                                             lambda: candidate.train_on_batch(images, labels),
                                             pairs=settings.pairs, warmup_pairs=settings.warmup_pairs)
    spread = paired.ratio_spread()
    figure = results.Figure(
        key=key, label=f"{label}: step time / the Trainer's step", value=spread.median, unit="x",
        spread=(f"{spread.describe()}: {paired_timing.speed_verdict(spread)}; "
                f"the Trainer uses it: {'yes' if trainer_uses_it else 'no'}"))
    return figure, {"baseline_seconds": paired.a_seconds, "candidate_seconds": paired.b_seconds}


def _short_reason(message: str) -> str:
    """XLA's "Detected unsupported operations ... on XLA_CPU_JIT: OpName (...)" as one short phrase."""
    match = re.search(r"unsupported operations when trying to compile graph \S+ on (\S+): (\w+)", message)
    if match:
        return f"{match.group(1)} has no kernel for {match.group(2)}"
    return message.strip().splitlines()[0][:200]


def _not_measured(label: str, key: str, why: str, trainer_uses_it: bool) -> results.Figure:
    return results.Figure(key=key, label=f"{label}: step time / the Trainer's step", value=None, unit="x",
                          spread=f"{why}; the Trainer uses it: {'yes' if trainer_uses_it else 'no'}")


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    del work_dir
    batch = models.fixed_batch(settings.batch_size, settings.image_size, settings.seed)
    baseline = _trainer_model(settings)
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    figures: List[results.Figure] = []
    details: Dict[str, object] = {}
    for key, (label, build) in _CANDIDATES.items():
        if key == "mixed_precision" and not has_gpu:
            figures.append(_not_measured(label, key, "not measured: no GPU on this machine", trainer_uses_it=False))
            continue
        logging.info("Candidate: %s.", label)
        candidate, trainer_uses_it = build(settings)
        figure, details[key] = _compare(label, key, candidate, baseline, trainer_uses_it, batch, settings)
        figures.append(figure)
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
