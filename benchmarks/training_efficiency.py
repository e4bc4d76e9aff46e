"""How close does a training step come to the machine's limit? Achieved GFLOP/s over the measured matmul peak.

The peak is this machine's own: a float32 matrix product (n x n, compiled, after warm-up; 2n^3 FLOP), the best of
a few sizes, timed in rounds interleaved with the training rounds so a slow spell of the shared machine lands on
both. Training is the Trainer's compiled model (`train_on_batch` on a fixed in-memory batch at the Trainer's image
size, so no input pipeline is timed).

The FLOP count is derived from the model's layers, not measured: a Conv2D costs 2 k_h k_w C_in C_out H_out W_out
FLOP per image forward (one multiply and one add per weight and output position), a Dense layer 2 n_in n_out.
Backward costs the same again for the weight gradients and again for the input gradients, except the first conv,
whose input gradient is never needed: training = 3 x forward - first conv's forward. Pooling, activations,
dropout, augmentation and the optimizer update are left out (well under 1% of the FLOP here, though not of the
time), so the ratio understates the convolutions' own efficiency slightly.

Why the ratio is what it is: every layer's forward and backward pass is also timed alone (`layer_timing`), and
the ceiling figure asks what the ratio would be if the Conv2D and Dense layers ran at the matmul peak while the
other layers (augmentation, pooling, dropout, flatten) kept their share of the step: when that ceiling is below
the target, no faster convolution can meet it; only a cheaper model or faster non-conv kernels could.
"""
import dataclasses
from typing import Dict, List

import tensorflow as tf
import tf_keras
from absl import logging

from benchmarks import catalog, command_line, layer_timing, models, paired_timing, results
from trainer.config import BASELINE

NAME = "training_efficiency"
TITLE = catalog.TITLES[NAME]
TARGET = results.Target(">=", 0.5)


@dataclasses.dataclass(frozen=True)
class Settings:
    batch_size: int
    image_size: int
    rounds: int
    steps_per_round: int
    matmul_sizes: tuple
    matmul_repeats: int
    layer_repeats: int
    seed: int = 42


PRESETS = {
    "full": Settings(batch_size=128, image_size=300, rounds=4, steps_per_round=3, matmul_sizes=(1024, 2048, 3072),
                     matmul_repeats=5, layer_repeats=3),
    "quick": Settings(batch_size=8, image_size=150, rounds=2, steps_per_round=2, matmul_sizes=(1024,),
                      matmul_repeats=3, layer_repeats=1),
    "smoke": Settings(batch_size=2, image_size=96, rounds=1, steps_per_round=1, matmul_sizes=(256,),
                      matmul_repeats=1, layer_repeats=1),
}


def layer_flops(model: tf_keras.Model) -> List[Dict[str, object]]:
    """Forward FLOP per image of every Conv2D and Dense layer, in order, with the formula's inputs."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.Conv2D):
            kernel_h, kernel_w, channels_in, channels_out = layer.kernel.shape
            _, height, width, _ = layer.output.shape
            flops = 2 * kernel_h * kernel_w * channels_in * channels_out * height * width
            rows.append({"layer": layer.name, "shape": f"{kernel_h}x{kernel_w}x{channels_in}->{channels_out} at "
                                                       f"{height}x{width}", "forward_flops": int(flops)})
        elif isinstance(layer, tf_keras.layers.Dense):
            units_in, units_out = layer.kernel.shape
            rows.append({"layer": layer.name, "shape": f"{units_in}->{units_out}",
                         "forward_flops": int(2 * units_in * units_out)})
    return rows


def training_flops_per_image(rows: List[Dict[str, object]]) -> int:
    """3 x forward (forward, weight gradients, input gradients) less the first layer's input gradient."""
    forward = sum(int(row["forward_flops"]) for row in rows)
    return 3 * forward - int(rows[0]["forward_flops"])


def _matmul_seconds(size: int, repeats: int, seed: int):
    generator = tf.random.Generator.from_seed(seed)
    left, right = generator.normal((size, size)), generator.normal((size, size))

    @tf.function
    def product() -> tf.Tensor:
        return tf.reduce_sum(tf.linalg.matmul(left, right))

    product().numpy()  # trace and warm up
    return lambda: [product().numpy() for _ in range(repeats)]


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    del work_dir  # everything stays in memory
    model = models.trainer_model(method=BASELINE, image_size=settings.image_size, seed=settings.seed)
    images, labels = models.fixed_batch(settings.batch_size, settings.image_size, settings.seed)
    rows = layer_flops(model)
    flops_per_image = training_flops_per_image(rows)
    products = {size: _matmul_seconds(size, settings.matmul_repeats, settings.seed) for size in settings.matmul_sizes}
    model.train_on_batch(images, labels)  # trace, and let oneDNN pick its kernels
    peak_rounds: List[float] = []
    training_rounds: List[float] = []
    for round_index in range(settings.rounds):
        logging.info("Round %d/%d: matmul peak, then %d training steps.", round_index + 1, settings.rounds,
                     settings.steps_per_round)
        peaks = {size: 2 * size ** 3 * settings.matmul_repeats / paired_timing.seconds_of(run) / 1e9
                 for size, run in products.items()}
        peak_rounds.append(max(peaks.values()))
        seconds = paired_timing.seconds_of(
            lambda: [model.train_on_batch(images, labels) for _ in range(settings.steps_per_round)])
        training_rounds.append(flops_per_image * settings.batch_size * settings.steps_per_round / seconds / 1e9)
    ratios = paired_timing.Spread.of([train / peak for train, peak in zip(training_rounds, peak_rounds)])
    peak, achieved = paired_timing.Spread.of(peak_rounds), paired_timing.Spread.of(training_rounds)
    images_per_second = achieved.median * 1e9 / flops_per_image
    logging.info("Each layer's forward and backward pass alone, %d times.", settings.layer_repeats)
    layer_rows = layer_timing.layer_seconds(model, images, settings.layer_repeats)
    step_seconds = settings.batch_size / images_per_second
    batch_flops = flops_per_image * settings.batch_size
    ceiling = layer_timing.efficiency_ceiling(layer_rows, step_seconds, batch_flops, peak.median * 1e9)
    other_share = (sum(row["seconds"] for row in layer_rows if not row["computes_flops"])
                   / sum(row["seconds"] for row in layer_rows))
    figures = [
        results.Figure(
            key="gflops_over_matmul_peak", label="training GFLOP/s / this machine's float32 matmul peak",
            value=ratios.median, unit="x",
            spread=(f"{ratios.describe('rounds')}; training {achieved.median:.1f} GFLOP/s "
                    f"({images_per_second:.1f} images/s x {flops_per_image / 1e9:.3f} GFLOP per training image, "
                    f"batch {settings.batch_size} at {settings.image_size} px), peak {peak.median:.1f} GFLOP/s"),
            target=TARGET,
            likely_cause_if_missed=("the step spends its time outside large convolutions (the ceiling figure and "
                                    "the per-layer table say how much): memory-bound layers (pooling, dropout, "
                                    "augmentation), the allocator (run with tcmalloc), or convolutions with few "
                                    "channels (the first has 3 inputs) that oneDNN cannot run at matmul speed."),
        ),
        results.Figure(key="matmul_peak_gflops", label="float32 matmul peak (best of the sizes)", value=peak.median,
                       unit="GFLOP/s", spread=f"{peak.describe('rounds', 1)}; sizes {list(settings.matmul_sizes)}"),
        results.Figure(key="training_gflops_per_image", label="training FLOP per image, derived from the layers",
                       value=flops_per_image / 1e9, unit="GFLOP",
                       spread="3 x forward - first conv's forward; breakdown below"),
        results.Figure(
            key="ceiling_with_convolutions_at_peak",
            label="ceiling: the same ratio if every Conv2D and Dense layer ran at the matmul peak",
            value=ceiling, unit="x",
            spread=(f"the other layers keep their {other_share:.0%} of the {step_seconds:.2f} s step (their share of "
                    f"the layers' summed times when each runs alone, table below); below {TARGET.describe()} means "
                    f"faster convolutions alone cannot meet the target")),
    ]
    table = results.Table(title="Forward FLOP per image of each layer (2 x multiply-adds)",
                          columns=["layer", "shape", "forward GFLOP"],
                          rows=[[str(row["layer"]), str(row["shape"]), f"{int(row['forward_flops']) / 1e9:.4f}"]
                                for row in rows])
    layer_table = _layer_table(layer_rows, rows, settings.batch_size)
    details = {"peak_gflops_rounds": peak_rounds, "training_gflops_rounds": training_rounds, "layers": rows,
               "flops_per_training_image": flops_per_image, "images_per_second": images_per_second,
               "layer_seconds": layer_rows, "step_seconds": step_seconds}
    return results.finish(NAME, TITLE, __doc__, preset, {**dataclasses.asdict(settings),
                                                        "matmul_sizes": list(settings.matmul_sizes)},
                          figures, details, [table, layer_table])


def _layer_table(layer_rows: List[Dict[str, object]], flop_rows: List[Dict[str, object]],
                 batch_size: int) -> results.Table:
    """Milliseconds per layer (training pass alone), its share, and GFLOP/s for the layers the FLOP count covers."""
    forward = {str(row["layer"]): int(row["forward_flops"]) for row in flop_rows}
    first = str(flop_rows[0]["layer"])
    total = sum(float(row["seconds"]) for row in layer_rows)
    table_rows = []
    for row in layer_rows:
        name, seconds = str(row["layer"]), float(row["seconds"])
        passes = 2 if name == first else 3  # forward, weight gradients, input gradients (none for the first)
        gflops = f"{passes * forward[name] * batch_size / seconds / 1e9:.1f}" if name in forward else ""
        table_rows.append([name, str(row["kind"]), f"{seconds * 1000:.0f}", f"{seconds / total:.0%}", gflops])
    return results.Table(title="Each layer's training pass alone (forward and backward, median ms per batch)",
                         columns=["layer", "kind", "ms", "share", "GFLOP/s"], rows=table_rows)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
