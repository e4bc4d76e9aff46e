"""Materialise Transform's output, or apply its graph in the Trainer's input pipeline? Measured in one run.

Both variants start from the same encoded images. "graph in the Trainer" reads the raw tf.Examples (encoded
PNG bytes) and runs the transform graph (decode, resize, x1/255) in tf.data; "materialised" reads tf.Examples
holding the transformed float32 pixels, as Transform(materialize=True) writes them. Reported: bytes on disk
and the speed ratio of one pass (what the first epoch pays; later epochs come from the in-memory cache either
way), timed in interleaved pairs.
"""
import dataclasses
import os
from typing import Iterable

import numpy as np
import tensorflow as tf

from benchmarks import catalog, command_line, paired_timing, results, trainer_inputs
from trainer import data, features

NAME = "transform_materialization"
TITLE = catalog.TITLES[NAME]


@dataclasses.dataclass(frozen=True)
class Settings:
    images: int
    image_size: int
    batch_size: int
    pairs: int


PRESETS = {
    "full": Settings(images=256, image_size=300, batch_size=32, pairs=3),
    "quick": Settings(images=32, image_size=150, batch_size=8, pairs=1),
    "smoke": Settings(images=8, image_size=96, batch_size=4, pairs=1),
}


def _materialised_example(pixels: np.ndarray, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        features.transformed_name(features.IMAGE_KEY): tf.train.Feature(
            float_list=tf.train.FloatList(value=pixels.reshape(-1))),
        features.transformed_name(features.LABEL_KEY): tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


def _write_materialised(path: str, records: Iterable[bytes]) -> int:
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in records:
            writer.write(record)
    return os.path.getsize(path)


def _one_pass(dataset: tf.data.Dataset):
    return lambda: [None for _ in dataset]


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    inputs = trainer_inputs.prepare(work_dir, train=settings.images, evaluation=2, image_size=settings.image_size)
    raw_path = inputs.files["train"]
    graph_dataset = data.transformed_batches([raw_path], inputs.data_accessor(), inputs.transform_output(),
                                             settings.batch_size)

    pixels, labels = inputs.decoded("train")
    materialised_path = os.path.join(work_dir, "materialised.tfrecord.gz")
    materialised_bytes = _write_materialised(
        materialised_path, (_materialised_example(image, int(label)) for image, label in zip(pixels, labels[:, 0])))
    size = settings.image_size
    materialised_spec = {
        features.transformed_name(features.IMAGE_KEY): tf.io.FixedLenFeature([size, size, 3], tf.float32),
        features.transformed_name(features.LABEL_KEY): tf.io.FixedLenFeature([], tf.int64),
    }
    materialised_dataset = (tf.data.TFRecordDataset([materialised_path], compression_type="GZIP")
                            .batch(settings.batch_size)
                            .map(lambda records: tf.io.parse_example(records, materialised_spec),
                                 num_parallel_calls=tf.data.AUTOTUNE))
    paired = paired_timing.interleaved_pairs(_one_pass(graph_dataset), _one_pass(materialised_dataset),
                                             pairs=settings.pairs, warmup_pairs=0)
    speed = paired_timing.Spread.of([1 / ratio for ratio in paired.ratios])  # materialised speed / graph speed
    raw_bytes = os.path.getsize(raw_path)
    figures = [
        results.Figure(key="disk_ratio", label="disk: materialised float32 / encoded images (gzipped TFRecords)",
                       value=materialised_bytes / raw_bytes, unit="x",
                       spread=f"{materialised_bytes / 2**20:.1f} MiB vs {raw_bytes / 2**20:.1f} MiB"),
        results.Figure(key="speed_ratio", label="one-pass read speed: materialised / transform graph in the Trainer",
                       value=speed.median, unit="x",
                       spread=f"{speed.describe()}; graph {inputs.counts['train'] / np.median(paired.a_seconds):.0f} "
                              f"images/s"),
    ]
    details = {"graph_seconds": paired.a_seconds, "materialised_seconds": paired.b_seconds,
               "raw_bytes": raw_bytes, "materialised_bytes": materialised_bytes}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details)


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
