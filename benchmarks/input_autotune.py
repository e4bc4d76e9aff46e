"""tf.data autotuning in the Trainer's input pipeline: on (TensorFlow's default) or off (what the Trainer uses)?

Both sides fit the Trainer's model on `trainer.data.input_dataset` over the same TFRecords and transform graph;
they differ only in `tf.data.Options().autotune.enabled`. Each pair fits both for a few epochs on fresh datasets
(so each fit decodes and caches once, as a Trainer does), alternating which goes first, after one untimed fit
per side (tracing). Reported: the wall time of the whole `fit` call, and the part of it spent outside the epochs
(`fit` minus the epoch timer's seconds), where Keras drops one epoch's iterator and creates the next.
"""
import dataclasses
import time
from typing import Dict, List, Mapping

import tensorflow as tf
import tf_keras
from absl import logging

from benchmarks import catalog, command_line, models, paired_timing, results, trainer_inputs
from trainer import data, task
from trainer.config import BASELINE

NAME = "input_autotune"
TITLE = catalog.TITLES[NAME]
SIDES = ("autotune_on", "autotune_off")


@dataclasses.dataclass(frozen=True)
class Settings:
    train_images: int
    eval_images: int
    image_size: int
    batch_size: int
    epochs: int
    pairs: int
    seed: int = 42


PRESETS = {
    "full": Settings(train_images=512, eval_images=64, image_size=300, batch_size=128, epochs=4, pairs=3),
    "quick": Settings(train_images=32, eval_images=8, image_size=150, batch_size=8, epochs=2, pairs=1),
    "smoke": Settings(train_images=8, eval_images=4, image_size=96, batch_size=4, epochs=2, pairs=1),
}


@dataclasses.dataclass(frozen=True)
class FitSeconds:
    total: float
    in_epochs: float

    @property
    def outside_epochs(self) -> float:
        return self.total - self.in_epochs


def _dataset(inputs: trainer_inputs.TrainerInputs, split: str, settings: Settings, autotune: bool) -> tf.data.Dataset:
    dataset = data.input_dataset([inputs.files[split]], inputs.data_accessor(), inputs.transform_output(),
                                 batch_size=settings.batch_size, shuffle=split == "train", seed=settings.seed)
    options = tf.data.Options()
    options.autotune.enabled = autotune
    return dataset.with_options(options)


def fit_once(model: tf_keras.Model, inputs: trainer_inputs.TrainerInputs, settings: Settings,
             autotune: bool) -> FitSeconds:
    """One fit on fresh datasets, timed as a whole and per epoch."""
    timer = task.EpochTimer()
    train, evaluation = (_dataset(inputs, split, settings, autotune) for split in ("train", "eval"))
    started = time.perf_counter()
    model.fit(train, validation_data=evaluation, epochs=settings.epochs, callbacks=[timer], verbose=0)
    del train, evaluation
    return FitSeconds(time.perf_counter() - started, sum(timer.epoch_seconds))


def fit_pairs(model_of: Mapping[str, tf_keras.Model], inputs: trainer_inputs.TrainerInputs, settings: Settings,
              autotune: Mapping[str, bool]) -> Dict[str, List[FitSeconds]]:
    """`settings.pairs` pairs of fits, one per side, alternating which goes first, after one untimed fit per side
    (AutoGraph and kernel set-up then land on neither side)."""
    sides = list(model_of)
    for side in sides:
        fit_once(model_of[side], inputs, dataclasses.replace(settings, epochs=1), autotune=autotune[side])
    seconds: Dict[str, List[FitSeconds]] = {side: [] for side in sides}
    for pair in range(settings.pairs):
        for side in (sides if pair % 2 == 0 else sides[::-1]):
            seconds[side].append(fit_once(model_of[side], inputs, settings, autotune=autotune[side]))
        logging.info("Pair %d: %s.", pair + 1, ", ".join(f"{side} {fits[-1]}" for side, fits in seconds.items()))
    return seconds


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    inputs = trainer_inputs.prepare(work_dir, train=settings.train_images, evaluation=settings.eval_images,
                                    image_size=settings.image_size)
    model_of = {side: models.trainer_model(method=BASELINE, image_size=settings.image_size, seed=settings.seed)
                for side in SIDES}
    seconds = fit_pairs(model_of, inputs, settings, autotune={side: side == "autotune_on" for side in SIDES})

    on, off = seconds["autotune_on"], seconds["autotune_off"]
    paired = paired_timing.PairedSeconds([fit.total for fit in on], [fit.total for fit in off])
    spread = paired.ratio_spread()
    outside_on = paired_timing.Spread.of([fit.outside_epochs for fit in on])
    outside_off = paired_timing.Spread.of([fit.outside_epochs for fit in off])
    in_epochs = paired_timing.Spread.of([b.in_epochs / a.in_epochs for a, b in zip(on, off)])
    figures = [
        results.Figure(
            key="fit_time_ratio",
            label=f"whole fit ({settings.epochs} epochs, {inputs.counts['train']} images at {settings.image_size} px), "
                  "autotuning off / on",
            value=spread.median, unit="x",
            spread=f"{spread.describe()}; the Trainer turns autotuning off",
        ),
        results.Figure(
            key="outside_epochs_seconds_on", label="seconds of each fit outside its epochs, autotuning on",
            value=outside_on.median, unit="s", spread=outside_on.describe("fits", 2)),
        results.Figure(
            key="outside_epochs_seconds_off", label="seconds of each fit outside its epochs, autotuning off",
            value=outside_off.median, unit="s", spread=outside_off.describe("fits", 2)),
        results.Figure(
            key="in_epochs_ratio", label="seconds inside the epochs, autotuning off / on",
            value=in_epochs.median, unit="x", spread=in_epochs.describe()),
    ]
    details = {side: [dataclasses.asdict(fit) for fit in fits] for side, fits in seconds.items()}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
