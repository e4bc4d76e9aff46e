"""Benchmark inputs made the way the pipeline makes them.

The default synthetic images, gzipped TFRecords of the tf.Examples ImageExampleGen writes (image bytes, label,
file name), and a transform graph written by TFT's Beam implementation from the curated schema with the real
`preprocessing_fn`, so the Trainer's input pipeline runs here exactly as it does in the Transform/Trainer pair.
"""
import dataclasses
import functools
import os
from typing import List, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io
from tfx.utils import io_utils

from components.image_example_gen import beam_ingestion
from datasets import synthetic
from pipeline.schema import SCHEMA_FILE
from trainer import features, preprocessing

_DECODE_CHUNK = 64  # images decoded per call when building in-memory arrays: bounds the temporary memory


@dataclasses.dataclass(frozen=True)
class EncodedImages:
    """Encoded PNG bytes with their labels and data-relative file names, in a fixed order."""

    encoded: List[bytes]
    labels: List[int]
    filenames: List[str]

    def __len__(self) -> int:
        return len(self.encoded)


def synthetic_splits(data_dir: str, train: int, test: int, image_size: int,
                     seed: int = 0) -> Tuple[EncodedImages, EncodedImages]:
    """Draws the default synthetic dataset into `data_dir` and reads both splits back."""
    synthetic.write_synthetic_dataset(data_dir, train_size=train, test_size=test, image_size=image_size, seed=seed)
    return read_split(data_dir, "train"), read_split(data_dir, "test")


def read_split(data_dir: str, split: str) -> EncodedImages:
    encoded, labels, filenames = [], [], []
    for label, class_name in enumerate(features.CLASS_NAMES):
        folder = os.path.join(data_dir, split, class_name)
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as image_file:
                encoded.append(image_file.read())
            labels.append(label)
            filenames.append(f"{split}/{class_name}/{name}")
    return EncodedImages(encoded, labels, filenames)


def write_raw_records(path: str, images: EncodedImages) -> int:
    """Writes ImageExampleGen's tf.Examples (its own encoder) as one gzipped TFRecord file; returns its bytes."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for encoded, label, filename in zip(images.encoded, images.labels, images.filenames):
            writer.write(beam_ingestion._to_example(  # pylint: disable=protected-access
                filename, features.CLASS_NAMES[label], encoded))
    return os.path.getsize(path)


def write_transform_graph(work_dir: str, image_size: int) -> str:
    """Writes a transform graph as the Transform component does and returns its folder.

    Analysis needs no real data: `preprocessing_fn` has no analyzers.
    """
    schema = io_utils.parse_pbtxt_file(SCHEMA_FILE, schema_pb2.Schema())
    metadata = dataset_metadata.DatasetMetadata(schema)
    output_dir = os.path.join(work_dir, "transform_graph")
    function = functools.partial(preprocessing.preprocessing_fn, custom_config={"image_size": image_size})
    sample = [{features.IMAGE_KEY: [b""], features.LABEL_KEY: [0], features.FILENAME_KEY: [b""]}]
    with tft_beam.Context(temp_dir=os.path.join(work_dir, "tft_tmp"), force_tf_compat_v1=False):
        transform_fn = (sample, metadata) | tft_beam.AnalyzeDataset(function)
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    metadata_io.write_metadata(metadata, os.path.join(output_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    return output_dir


def decoded_arrays(images: EncodedImages, image_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """(images [N, S, S, 3] float32 in [0, 1], labels [N, 1] float32): what the pipeline feeds the model."""
    chunks = [preprocessing.decode_and_scale(tf.constant(images.encoded[start:start + _DECODE_CHUNK]),
                                             image_size).numpy()
              for start in range(0, len(images), _DECODE_CHUNK)]
    return np.concatenate(chunks), np.asarray(images.labels, dtype=np.float32).reshape(-1, 1)
