"""preprocessing_fn through TFT's real Beam implementation and the curated schema (every feature FixedLen([1]), as
Transform sees the ingested examples), against pixel values computed with NumPy."""
import functools
import io

import numpy as np
import pytest
import tensorflow_transform.beam as tft_beam
from PIL import Image
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import dataset_metadata
from tfx.utils import io_utils

from pipeline.schema import SCHEMA_FILE
from trainer import features, preprocessing

IMAGE_SIZE = 16


def _encode(array: np.ndarray, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


def _transform(raw_examples, temp_dir):
    metadata = dataset_metadata.DatasetMetadata(io_utils.parse_pbtxt_file(SCHEMA_FILE, schema_pb2.Schema()))
    function = functools.partial(preprocessing.preprocessing_fn, custom_config={"image_size": IMAGE_SIZE})
    with tft_beam.Context(temp_dir=str(temp_dir), force_tf_compat_v1=False):
        (transformed, _), _ = (raw_examples, metadata) | tft_beam.AnalyzeAndTransformDataset(function)
    return transformed


@pytest.fixture(scope="module")
def example_images():
    rng = np.random.default_rng(0)
    exact_size_rgb = rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    grayscale = rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    constant_large = np.full((40, 70, 3), (200, 100, 50), dtype=np.uint8)
    return exact_size_rgb, grayscale, constant_large


def test_images_are_decoded_resized_and_scaled_to_unit_range(example_images, tmp_path):
    exact_size_rgb, grayscale, constant_large = example_images
    raw = [{features.IMAGE_KEY: [image], features.LABEL_KEY: [label], features.FILENAME_KEY: [f"{index}.png".encode()]}
           for index, (image, label) in enumerate([(_encode(exact_size_rgb), 0), (_encode(grayscale), 1),
                                                   (_encode(constant_large, "JPEG"), 1)])]
    transformed = _transform(raw, tmp_path)
    images = [np.asarray(row[features.transformed_name(features.IMAGE_KEY)]) for row in transformed]
    labels = [int(row[features.transformed_name(features.LABEL_KEY)]) for row in transformed]

    assert labels == [0, 1, 1]
    assert all(image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and image.dtype == np.float32 for image in images)
    np.testing.assert_allclose(images[0], exact_size_rgb / 255.0, atol=1e-6)
    np.testing.assert_allclose(images[1], np.repeat(grayscale[..., None], 3, axis=2) / 255.0, atol=1e-6)
    # JPEG is lossy; a flat colour survives to within a few levels.
    np.testing.assert_allclose(images[2], np.broadcast_to(np.array([200, 100, 50]) / 255.0, images[2].shape),
                               atol=4 / 255.0)

