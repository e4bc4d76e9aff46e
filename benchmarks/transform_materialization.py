"""Materialise Transform's output, or apply its graph in the Trainer's input pipeline? Measured in one run.

Both variants start from the same encoded images. "graph in the Trainer" reads the raw tf.Examples (encoded
PNG bytes) and runs the transform graph (decode, resize, x1/255) in tf.data; "materialised" reads tf.Examples
holding the transformed float32 pixels, as Transform(materialize=True) writes them. Reported: bytes on disk
and images/s of one pass (what the first epoch pays; later epochs come from the in-memory cache either way).
"""
import argparse
import functools
import json
import os
import tempfile
import time
from typing import Dict

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from benchmarks import machine
from pipeline.datasets import synthetic
from trainer import data, features, preprocessing


def _raw_example(encoded_image: bytes, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded_image])),
        features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


def _materialised_example(pixels: np.ndarray, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        features.transformed_name(features.IMAGE_KEY): tf.train.Feature(
            float_list=tf.train.FloatList(value=pixels.reshape(-1))),
        features.transformed_name(features.LABEL_KEY): tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


def _write_records(path: str, records) -> int:
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in records:
            writer.write(record)
    return os.path.getsize(path)


def _transform_output(work_dir: str, image_size: int) -> tft.TFTransformOutput:
    feature_spec = {features.IMAGE_KEY: tf.io.FixedLenFeature([1], tf.string),
                    features.LABEL_KEY: tf.io.FixedLenFeature([1], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    output_dir = os.path.join(work_dir, "transform_graph")
    function = functools.partial(preprocessing.preprocessing_fn, custom_config={"image_size": image_size})
    sample = [{features.IMAGE_KEY: [b""], features.LABEL_KEY: [0]}]
    with tft_beam.Context(temp_dir=os.path.join(work_dir, "tft_tmp"), force_tf_compat_v1=False):
        transform_fn = (sample, metadata) | tft_beam.AnalyzeDataset(function)
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    metadata_io.write_metadata(metadata, os.path.join(output_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    return tft.TFTransformOutput(output_dir)


def _images_per_second(dataset: tf.data.Dataset, image_count: int) -> float:
    started = time.perf_counter()
    for _ in dataset:
        pass
    return image_count / (time.perf_counter() - started)


def measure(image_count: int, image_size: int, batch_size: int, work_dir: str) -> Dict[str, object]:
    data_dir = os.path.join(work_dir, "images")
    synthetic.write_synthetic_dataset(data_dir, train_size=image_count, test_size=2, image_size=image_size)
    files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(os.path.join(data_dir, "train"))
                   for name in names)
    labels = [features.CLASS_NAMES.index(os.path.basename(os.path.dirname(path))) for path in files]
    encoded = [open(path, "rb").read() for path in files]  # pylint: disable=consider-using-with

    raw_path = os.path.join(work_dir, "raw.tfrecord.gz")
    raw_bytes = _write_records(raw_path, (_raw_example(image, label) for image, label in zip(encoded, labels)))
    transform_output = _transform_output(work_dir, image_size)
    graph_dataset = data._transform_layer_batches([raw_path], transform_output, batch_size)  # pylint: disable=protected-access
    graph_rate = _images_per_second(graph_dataset, len(files))

    pixels = preprocessing.decode_and_scale(tf.constant(encoded), image_size).numpy()
    materialised_path = os.path.join(work_dir, "materialised.tfrecord.gz")
    materialised_bytes = _write_records(
        materialised_path, (_materialised_example(image, label) for image, label in zip(pixels, labels)))
    materialised_spec = {
        features.transformed_name(features.IMAGE_KEY): tf.io.FixedLenFeature([image_size, image_size, 3], tf.float32),
        features.transformed_name(features.LABEL_KEY): tf.io.FixedLenFeature([], tf.int64),
    }
    materialised_dataset = (tf.data.TFRecordDataset([materialised_path], compression_type="GZIP")
                            .batch(batch_size)
                            .map(lambda records: tf.io.parse_example(records, materialised_spec),
                                 num_parallel_calls=tf.data.AUTOTUNE))
    materialised_rate = _images_per_second(materialised_dataset, len(files))
    return {
        "images": len(files),
        "image_size": image_size,
        "graph_in_trainer": {"disk_bytes": raw_bytes, "images_per_second": graph_rate},
        "materialised": {"disk_bytes": materialised_bytes, "images_per_second": materialised_rate},
        "disk_ratio_materialised_over_raw": materialised_bytes / raw_bytes,
        "speed_ratio_materialised_over_graph": materialised_rate / graph_rate,
        "machine": machine.describe(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", help="Write the result here as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        result = measure(args.images, args.image_size, args.batch_size, work_dir)
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as json_file:
            json.dump(result, json_file, indent=2)


if __name__ == "__main__":
    main()
