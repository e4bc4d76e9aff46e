"""The exported SavedModel as a client uses it: both signatures agree with the Keras model on Transform's output."""
import io

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from PIL import Image

from benchmarks import fixtures
from trainer import export, features, model as model_lib, preprocessing

IMAGE_SIZE = 96


def _encode(array: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def transform_output(tmp_path_factory) -> tft.TFTransformOutput:
    """A real transform graph from the curated schema, written by TFT's Beam implementation as Transform does."""
    return tft.TFTransformOutput(fixtures.write_transform_graph(str(tmp_path_factory.mktemp("work")), IMAGE_SIZE))


@pytest.fixture(scope="module")
def client_images():
    """New images of mixed sizes and formats, as a client would send them."""
    rng = np.random.default_rng(5)
    return [
        _encode(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), "PNG"),
        _encode(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8), "JPEG"),
        _encode(rng.integers(0, 256, (50, 40), dtype=np.uint8), "PNG"),
    ]


def _serialized_example(encoded_image: bytes) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded_image])),
    })).SerializeToString()


def test_signatures_match_the_keras_model_on_transformed_images(transform_output, client_images, tmp_path):
    model = model_lib.build_model(IMAGE_SIZE, seed=1)
    export_dir = str(tmp_path / "serving")
    export.export_serving_model(model, transform_output, export_dir)

    expected = model(preprocessing.decode_and_scale(tf.constant(client_images), IMAGE_SIZE), training=False).numpy()
    loaded = tf.saved_model.load(export_dir)
    from_images = loaded.signatures["predict_images"](images=tf.constant(client_images))[export.OUTPUT_KEY]
    from_examples = loaded.signatures["serving_default"](
        examples=tf.constant([_serialized_example(image) for image in client_images]))[export.OUTPUT_KEY]

    assert from_images.shape == (3, 1)
    np.testing.assert_allclose(from_images.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(from_examples.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert np.all((expected > 0) & (expected < 1))

    assert set(loaded.signatures) == {"serving_default", "predict_images"}
