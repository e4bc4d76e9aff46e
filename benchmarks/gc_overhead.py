"""What does Gradient Centralization cost per training step? tf_keras and Keras 3, in one process.

For each Keras version, two models with identical weights (the seed CNN, compiled as the Trainer compiles it)
differ only in `centralized(optimizer)`; `train_on_batch` on one fixed in-memory batch is timed in interleaved
pairs after warm-up, so input pipelines, tracing and other people's jobs stay out of the ratio.

This machine's virtual cores stall now and then for most of a second (the same step takes 1.7 s or 2.6 s), which
leaves each pair ratio noisy. So GC's cost is also measured where it lives: the optimizer update alone
(`apply_gradients` of fixed gradients to all weights, compiled, ~100x shorter than a step, many pairs), whose
extra milliseconds with GC, over the plain train step, estimate the step-time ratio independently of the stalls.
"""
import dataclasses
from typing import Callable, Dict, List, Tuple

import tensorflow as tf
from absl import logging

from benchmarks import catalog, command_line, models, paired_timing, results
from trainer.config import BASELINE, GC

NAME = "gc_overhead"
TITLE = catalog.TITLES[NAME]
TARGET = results.Target("<=", 1.02)


@dataclasses.dataclass(frozen=True)
class Settings:
    batch_size: int
    image_size: int
    pairs: int
    warmup_pairs: int
    update_pairs: int
    seed: int = 42


PRESETS = {
    # The Trainer's batch and image size; GC's cost does not grow with the batch, so smaller batches are harsher.
    "full": Settings(batch_size=128, image_size=300, pairs=16, warmup_pairs=2, update_pairs=200),
    "quick": Settings(batch_size=8, image_size=150, pairs=4, warmup_pairs=1, update_pairs=30),
    "smoke": Settings(batch_size=2, image_size=96, pairs=2, warmup_pairs=1, update_pairs=3),
}


def _model_pairs(settings: Settings) -> Dict[str, Tuple[object, object]]:
    """(plain, GC) per Keras version, all four starting from the same weights."""
    plain = models.trainer_model(method=BASELINE, image_size=settings.image_size, seed=settings.seed)
    with_gc = models.trainer_model(method=GC, image_size=settings.image_size, seed=settings.seed)
    with_gc.set_weights(plain.get_weights())
    return {
        "tf_keras": (plain, with_gc),
        "keras3": (models.keras3_twin(plain, method=BASELINE), models.keras3_twin(plain, method=GC)),
    }


def _step(model, images, labels) -> Callable[[], object]:
    return lambda: model.train_on_batch(images, labels)


def _update_only(model, seed: int) -> Callable[[], object]:
    """The model's optimizer applying fixed gradients to all its trainable weights, compiled as in a train step."""
    variables = model.trainable_variables
    generator = tf.random.Generator.from_seed(seed)
    gradients = [generator.normal(tuple(variable.shape)) * 1e-3 for variable in variables]

    @tf.function
    def apply() -> tf.Tensor:
        model.optimizer.apply_gradients(zip(gradients, variables))
        return tf.constant(0)

    return lambda: apply().numpy()


def _update_figure(version: str, updates: paired_timing.PairedSeconds, plain_step_seconds: float) -> results.Figure:
    extra = paired_timing.Spread.of([gc - plain for plain, gc in zip(updates.a_seconds, updates.b_seconds)])
    plain_update = paired_timing.Spread.of(updates.a_seconds).median
    return results.Figure(
        key=f"{version}_update_estimate",
        label=f"{version}: step time ratio estimated from the update alone, 1 + (GC update - plain update) / step",
        value=1 + extra.median / plain_step_seconds, unit="x",
        spread=(f"GC adds {1000 * extra.median:.2f} ms (IQR {1000 * extra.lower_quartile:.2f}-"
                f"{1000 * extra.upper_quartile:.2f}, {extra.count} pairs) to a {1000 * plain_update:.1f} ms update; "
                f"plain step {1000 * plain_step_seconds:.0f} ms"),
        target=TARGET,
        likely_cause_if_missed=("centralizing the kernel gradients costs more than 2% of a step: the mean and the "
                                "subtraction are not fused into the update on this device."),
    )


def _figure(version: str, paired: paired_timing.PairedSeconds, plain_step: float, batch_size: int) -> results.Figure:
    spread = paired.ratio_spread()
    extra_milliseconds = 1000 * (paired_timing.Spread.of(paired.b_seconds).median - plain_step)
    return results.Figure(
        key=f"{version}_step_time_ratio",
        label=f"{version}: train step time with GC / without (batch {batch_size})",
        value=spread.median, unit="x",
        spread=f"{spread.describe()}; plain step {1000 * plain_step:.0f} ms",
        target=TARGET,
        likely_cause_if_missed=(
            f"the medians differ by {extra_milliseconds:.1f} ms on a {1000 * plain_step:.0f} ms step. GC adds one mean "
            "and one subtraction per kernel gradient to each update: compare the update-alone estimate below; if it "
            "meets the target and this IQR straddles it, the miss is the machine's stalls, not GC."),
    )


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    del work_dir  # everything stays in memory
    images, labels = models.fixed_batch(settings.batch_size, settings.image_size, settings.seed)
    figures: List[results.Figure] = []
    details: Dict[str, object] = {}
    for version, (plain, with_gc) in _model_pairs(settings).items():
        logging.info("Timing %d interleaved pairs of %s train steps (plain, GC).", settings.pairs, version)
        paired = paired_timing.interleaved_pairs(_step(plain, images, labels), _step(with_gc, images, labels),
                                                 pairs=settings.pairs, warmup_pairs=settings.warmup_pairs)
        logging.info("Timing %d interleaved pairs of %s optimizer updates alone.", settings.update_pairs, version)
        updates = paired_timing.interleaved_pairs(
            _update_only(plain, settings.seed), _update_only(with_gc, settings.seed),
            pairs=settings.update_pairs, warmup_pairs=settings.warmup_pairs)
        plain_step = paired_timing.Spread.of(paired.a_seconds).median
        figures.append(_figure(version, paired, plain_step, settings.batch_size))
        figures.append(_update_figure(version, updates, plain_step))
        details[version] = {"plain_seconds": paired.a_seconds, "gc_seconds": paired.b_seconds,
                            "ratios": paired.ratios, "plain_update_seconds": updates.a_seconds,
                            "gc_update_seconds": updates.b_seconds, "optimizer": _optimizer_name(with_gc),
                            "jit_compile": bool(getattr(with_gc, "jit_compile", False))}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


def _optimizer_name(model) -> str:
    return str(model.optimizer.name)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
