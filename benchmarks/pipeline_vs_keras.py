"""How close does the Trainer come to a bare `model.fit` on images already in memory?

"Trainer" is what `trainer.task.run_fn` trains with: `trainer.data.input_dataset` over gzipped TFRecords of raw
tf.Examples and a real transform graph (decode once, cache, shuffle, batch), the model built and compiled by
the Trainer's builder inside the Trainer's strategy, TensorBoard and epoch-timer callbacks, validation each epoch.
"Bare Keras" fits the same model with the same weights on the same images, decoded beforehand into tensors,
with the same epochs, batch, validation and callbacks.

On a machine shared with other jobs, two long fits one after the other compare noise, so the two fits advance
one epoch at a time, alternating which goes first (`fit(initial_epoch=e, epochs=e + 1)`; Keras keeps its traced
step functions between calls, and the epoch timer excludes each call's set-up on both sides). One throwaway fit
per side, with the same callbacks, first pays the process's one-time costs (AutoGraph converting Keras' code,
oneDNN building kernels for each batch shape, TensorBoard's writers, MirroredStrategy's and tf.data's
machinery), which would otherwise land on whichever side ran first; the measured Trainer still decodes and caches
its images in its first epoch, on fresh datasets.
"""
import dataclasses
import os
from typing import Callable, Dict, List, Tuple

import tensorflow as tf
import tf_keras
from absl import logging

from benchmarks import catalog, command_line, models, paired_timing, results, trainer_inputs
from trainer import data, task
from trainer.config import BASELINE

NAME = "pipeline_vs_keras"
TITLE = catalog.TITLES[NAME]
TARGET = results.Target(">=", 0.95)


@dataclasses.dataclass(frozen=True)
class Settings:
    train_images: int
    eval_images: int
    image_size: int
    batch_size: int
    epochs: int
    seed: int = 42


PRESETS = {
    # The Trainer's epochs and batch, so the first epoch's decoding weighs what it weighs in a real run.
    "full": Settings(train_images=384, eval_images=64, image_size=300, batch_size=128, epochs=10),
    "quick": Settings(train_images=32, eval_images=8, image_size=150, batch_size=8, epochs=2),
    "smoke": Settings(train_images=8, eval_images=4, image_size=96, batch_size=4, epochs=2),
}

EpochFit = Callable[[int], float]  # fits one more epoch (its index given), returns its seconds


def _epoch_fit(model: tf_keras.Model, log_dir: str, *fit_args, **fit_kwargs) -> EpochFit:
    timer = task.EpochTimer()
    callbacks = [tf_keras.callbacks.TensorBoard(log_dir=log_dir), timer]

    def fit_epoch(epoch: int) -> float:
        model.fit(*fit_args, initial_epoch=epoch, epochs=epoch + 1, callbacks=callbacks, verbose=0, **fit_kwargs)
        return timer.epoch_seconds[-1]

    return fit_epoch


def _trainer_fit(inputs: trainer_inputs.TrainerInputs, settings: Settings, work_dir: str) -> EpochFit:
    """The Trainer's training, as run_fn sets it up (the Trainer's strategy, its datasets)."""
    transform_output = inputs.transform_output()
    strategy = task.training_strategy()
    global_batch_size = settings.batch_size * strategy.num_replicas_in_sync
    data_accessor = inputs.data_accessor()
    train_dataset = data.input_dataset([inputs.files["train"]], data_accessor, transform_output,
                                       batch_size=global_batch_size, shuffle=True, seed=settings.seed)
    eval_dataset = data.input_dataset([inputs.files["eval"]], data_accessor, transform_output,
                                      batch_size=global_batch_size, shuffle=False, seed=settings.seed)
    with strategy.scope():
        model = models.trainer_model(method=BASELINE, image_size=settings.image_size, seed=settings.seed)
    return _epoch_fit(model, os.path.join(work_dir, "trainer_logs"), train_dataset, validation_data=eval_dataset)


def _decoded_tensors(inputs: trainer_inputs.TrainerInputs) -> Dict[str, Tuple[tf.Tensor, tf.Tensor]]:
    """Both splits decoded once, as tensors: Keras would copy NumPy arrays into a new tensor on every fit() call."""
    return {split: tuple(tf.constant(array) for array in inputs.decoded(split)) for split in ("train", "eval")}


def _bare_fit(decoded: Dict[str, Tuple[tf.Tensor, tf.Tensor]], settings: Settings, work_dir: str) -> EpochFit:
    model = models.trainer_model(method=BASELINE, image_size=settings.image_size, seed=settings.seed)
    return _epoch_fit(model, os.path.join(work_dir, "bare_logs"), *decoded["train"], validation_data=decoded["eval"],
                      batch_size=settings.batch_size, shuffle=True)


def _ratio(trainer: List[float], bare: List[float]) -> float:
    """Trainer images/s over bare images/s for the same epochs: bare seconds / Trainer seconds."""
    return sum(bare) / sum(trainer)


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    inputs = trainer_inputs.prepare(work_dir, train=settings.train_images, evaluation=settings.eval_images,
                                    image_size=settings.image_size)
    decoded = _decoded_tensors(inputs)
    for warm_up in (_trainer_fit(inputs, settings, os.path.join(work_dir, "warm_up")),
                    _bare_fit(decoded, settings, os.path.join(work_dir, "warm_up"))):
        warm_up(0)  # throwaway: one-time costs of the process land on neither measured side
    fits: Dict[str, EpochFit] = {"trainer": _trainer_fit(inputs, settings, work_dir),
                                 "bare": _bare_fit(decoded, settings, work_dir)}
    seconds: Dict[str, List[float]] = {"trainer": [], "bare": []}
    for epoch in range(settings.epochs):
        order = ("trainer", "bare") if epoch % 2 == 0 else ("bare", "trainer")
        for side in order:
            seconds[side].append(fits[side](epoch))
        logging.info("Epoch %d: Trainer %.2f s, bare %.2f s.", epoch + 1, seconds["trainer"][-1], seconds["bare"][-1])

    trainer, bare = seconds["trainer"], seconds["bare"]
    images = inputs.counts["train"]
    later = paired_timing.Spread.of([b / t for t, b in zip(trainer[1:], bare[1:])]) if settings.epochs > 1 else None
    whole_ratio, first_ratio = _ratio(trainer, bare), _ratio(trainer[:1], bare[:1])
    later_text = f"{_ratio(trainer[1:], bare[1:]):.2f}" if later else "n/a"
    figures = [
        results.Figure(
            key="whole_fit_ratio",
            label=f"images/s, Trainer input pipeline + fit / bare fit, all {settings.epochs} epochs",
            value=whole_ratio, unit="x",
            spread=(f"{images * settings.epochs / sum(trainer):.1f} vs {images * settings.epochs / sum(bare):.1f} "
                    f"images/s; epoch pairs interleaved"),
            target=TARGET,
            likely_cause_if_missed=(
                f"first epoch {first_ratio:.2f}x (it decodes every image and traces the transform graph, on the same "
                f"cores that train), later epochs {later_text}x. If later epochs are low too, the cost is per step "
                "(the strategy's iterator, cache/shuffle copies) or noise from other jobs."),
        ),
        results.Figure(key="first_epoch_ratio", label="first epoch only (decode + tracing), Trainer / bare",
                       value=first_ratio, unit="x", spread=f"{trainer[0]:.1f} s vs {bare[0]:.1f} s"),
    ]
    if later is not None:
        figures.append(results.Figure(
            key="later_epochs_ratio", label="epochs 2+ (from the cache), Trainer / bare",
            value=_ratio(trainer[1:], bare[1:]), unit="x",
            spread=f"per-epoch ratios: {later.describe('epoch pairs', 2)}"))
    details = {"trainer_epoch_seconds": trainer, "bare_epoch_seconds": bare, "train_images": images,
               "eval_images": inputs.counts["eval"]}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
