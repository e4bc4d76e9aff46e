"""The exported SavedModel as a client uses it: both signatures agree with the Keras model on Transform's output."""
import functools
import io
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from PIL import Image
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from trainer import export, features, model as model_lib, preprocessing

IMAGE_SIZE = 96


def _encode(array: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def transform_output(tmp_path_factory) -> tft.TFTransformOutput:
    """A real transform graph written by TFT's Beam implementation, as the Transform component does."""
    output_dir = str(tmp_path_factory.mktemp("transform_graph"))
    feature_spec = {features.IMAGE_KEY: tf.io.VarLenFeature(tf.string),
                    features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    raw = [{features.IMAGE_KEY: [_encode(np.zeros((8, 8, 3), np.uint8), "PNG")], features.LABEL_KEY: 0}]
    function = functools.partial(preprocessing.preprocessing_fn, custom_config={"image_size": IMAGE_SIZE})
    with tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tft_tmp")), force_tf_compat_v1=False):
        transform_fn = (raw, metadata) | tft_beam.AnalyzeDataset(function)
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    metadata_io.write_metadata(metadata, os.path.join(output_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    return tft.TFTransformOutput(output_dir)


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


def test_transform_features_signature_gives_what_training_sees(transform_output, client_images, tmp_path):
    model = model_lib.build_model(IMAGE_SIZE, seed=1)
    export_dir = str(tmp_path / "serving")
    export.export_serving_model(model, transform_output, export_dir)
    example = tf.train.Example(features=tf.train.Features(feature={
        features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[client_images[1]])),
        features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[1])),
    })).SerializeToString()

    transformed = tf.saved_model.load(export_dir).signatures["transform_features"](examples=tf.constant([example]))

    np.testing.assert_allclose(transformed[features.transformed_name(features.IMAGE_KEY)].numpy(),
                               preprocessing.decode_and_scale(tf.constant(client_images[1:2]), IMAGE_SIZE).numpy(),
                               atol=1e-6)
    assert transformed[features.transformed_name(features.LABEL_KEY)].numpy().tolist() == [1]
