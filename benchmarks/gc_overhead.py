"""What does Gradient Centralization cost per training step? tf_keras and Keras 3, in one process.

For each Keras version, two models with identical weights (the seed CNN, compiled as the Trainer compiles it)
differ only in `centralized(optimizer)`; `train_on_batch` on one fixed in-memory batch is timed in interleaved
pairs after warm-up, so input pipelines, tracing and other people's jobs stay out of the ratio.
"""
import dataclasses
from typing import Callable, Dict, List, Tuple

from absl import logging

from benchmarks import catalog, command_line, models, paired_timing, results

NAME = "gc_overhead"
TITLE = catalog.TITLES[NAME]
TARGET = results.Target("<=", 1.02)


@dataclasses.dataclass(frozen=True)
class Settings:
    batch_size: int
    image_size: int
    pairs: int
    warmup_pairs: int
    seed: int = 42


PRESETS = {
    "full": Settings(batch_size=128, image_size=300, pairs=12, warmup_pairs=2),  # the Trainer's batch and size
    "quick": Settings(batch_size=32, image_size=300, pairs=6, warmup_pairs=2),
    "smoke": Settings(batch_size=2, image_size=96, pairs=2, warmup_pairs=1),
}


def _model_pairs(settings: Settings) -> Dict[str, Tuple[object, object]]:
    """(plain, GC) per Keras version, all four starting from the same weights."""
    plain = models.trainer_model(use_gc=False, image_size=settings.image_size, seed=settings.seed)
    with_gc = models.trainer_model(use_gc=True, image_size=settings.image_size, seed=settings.seed)
    with_gc.set_weights(plain.get_weights())
    return {
        "tf_keras": (plain, with_gc),
        "keras3": (models.keras3_twin(plain, use_gc=False), models.keras3_twin(plain, use_gc=True)),
    }


def _step(model, images, labels) -> Callable[[], object]:
    return lambda: model.train_on_batch(images, labels)


def _figure(version: str, paired: paired_timing.PairedSeconds, batch_size: int) -> results.Figure:
    spread = paired.ratio_spread()
    plain_step = paired_timing.Spread.of(paired.a_seconds).median
    extra_milliseconds = 1000 * (paired_timing.Spread.of(paired.b_seconds).median - plain_step)
    return results.Figure(
        key=f"{version}_step_time_ratio",
        label=f"{version}: train step time with GC / without (batch {batch_size})",
        value=spread.median, unit="x",
        spread=f"{spread.describe()}; plain step {1000 * plain_step:.0f} ms",
        target=TARGET,
        likely_cause_if_missed=(
            f"GC adds one mean and one subtraction per kernel gradient to every update, here {extra_milliseconds:.1f} "
            f"ms on a {1000 * plain_step:.0f} ms step; if the IQR straddles the target the miss is within the noise "
            "of this shared machine, otherwise the extra ops are not fused into the update on this device."),
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
        figures.append(_figure(version, paired, settings.batch_size))
        details[version] = {"plain_seconds": paired.a_seconds, "gc_seconds": paired.b_seconds,
                            "ratios": paired.ratios, "optimizer": _optimizer_name(with_gc),
                            "jit_compile": bool(getattr(with_gc, "jit_compile", False))}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


def _optimizer_name(model) -> str:
    return str(model.optimizer.name)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
