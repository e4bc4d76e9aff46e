"""One device: a one-replica MirroredStrategy, or TensorFlow's default strategy (what the Trainer uses)?

Both sides fit the Trainer's model on the Trainer's input pipeline (autotuning off, as the Trainer has it) for a
few epochs on fresh datasets; they differ only in the strategy the model is built under. Pairs alternate which
side goes first, after one untimed fit per side. Reported as in the tf.data autotuning benchmark: the whole
`fit` call, and its seconds outside the epochs, where Keras switches from one epoch's iterator to the next.
"""
import dataclasses
import tensorflow as tf
from absl import logging

from benchmarks import catalog, command_line, input_autotune, models, paired_timing, results, trainer_inputs
from trainer.config import BASELINE

NAME = "one_replica_strategy"
TITLE = catalog.TITLES[NAME]
SIDES = ("mirrored_one_replica", "default_strategy")
Settings = input_autotune.Settings

PRESETS = {
    # Half the train split, so the whole of `make bench` stays near 30 minutes on 2 cores; the stall grows with
    # the cached images, so at the full 1027 it is larger than measured here.
    "full": Settings(train_images=512, eval_images=64, image_size=300, batch_size=128, epochs=3, pairs=2),
    "quick": Settings(train_images=32, eval_images=8, image_size=150, batch_size=8, epochs=2, pairs=1),
    "smoke": Settings(train_images=8, eval_images=4, image_size=96, batch_size=4, epochs=2, pairs=1),
}


def _strategy(side: str) -> tf.distribute.Strategy:
    return tf.distribute.MirroredStrategy() if side == "mirrored_one_replica" else tf.distribute.get_strategy()


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    if len(tf.config.list_logical_devices("GPU")) > 1:
        logging.warning("Several GPUs: MirroredStrategy() would use them all; this compares one replica only.")
    inputs = trainer_inputs.prepare(work_dir, train=settings.train_images, evaluation=settings.eval_images,
                                    image_size=settings.image_size)
    model_of = {}
    for side in SIDES:
        with _strategy(side).scope():
            model_of[side] = models.trainer_model(method=BASELINE, image_size=settings.image_size, seed=settings.seed)
    seconds = input_autotune.fit_pairs(model_of, inputs, settings, autotune={side: False for side in SIDES})

    mirrored, default = seconds["mirrored_one_replica"], seconds["default_strategy"]
    spread = paired_timing.PairedSeconds([fit.total for fit in mirrored], [fit.total for fit in default]).ratio_spread()
    outside = {side: paired_timing.Spread.of([fit.outside_epochs for fit in fits]) for side, fits in seconds.items()}
    scope = f"{settings.epochs} epochs, {inputs.counts['train']} images at {settings.image_size} px"
    figures = [
        results.Figure(key="fit_time_ratio", label=f"whole fit ({scope}), default strategy / one-replica Mirrored",
                       value=spread.median, unit="x",
                       spread=f"{spread.describe()}; the Trainer uses the default strategy on one device"),
        results.Figure(key="outside_epochs_seconds_mirrored",
                       label="seconds of each fit outside its epochs, one-replica MirroredStrategy",
                       value=outside["mirrored_one_replica"].median, unit="s",
                       spread=outside["mirrored_one_replica"].describe("fits", 2)),
        results.Figure(key="outside_epochs_seconds_default", label="seconds of each fit outside its epochs, default "
                       "strategy", value=outside["default_strategy"].median, unit="s",
                       spread=outside["default_strategy"].describe("fits", 2)),
    ]
    details = {side: [dataclasses.asdict(fit) for fit in fits] for side, fits in seconds.items()}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
