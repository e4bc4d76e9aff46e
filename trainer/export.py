"""SavedModel export with three signatures that all run Transform's graph before the CNN.

- `serving_default`: serialized tf.Examples holding `image` (encoded bytes) -> probability of `humans`.
- `predict_images`: a 1-D string tensor of encoded PNG/JPEG images of any size -> the same probability.
- `transform_features`: serialized tf.Examples -> transformed features, for TFMA's preprocessing functions.
"""
from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras

from trainer import features

OUTPUT_KEY = "probability"


def _raw_image_feature(encoded_images: tf.Tensor, spec: Any) -> Any:
    """Shapes a [N] string tensor the way the schema's raw `image` feature is parsed."""
    if isinstance(spec, tf.io.VarLenFeature):
        indices = tf.stack([tf.range(tf.size(encoded_images), dtype=tf.int64),
                            tf.zeros_like(encoded_images, dtype=tf.int64)], axis=1)
        return tf.SparseTensor(indices, encoded_images, dense_shape=[tf.size(encoded_images, tf.int64), 1])
    return tf.reshape(encoded_images, [-1] + list(spec.shape))


def serving_signatures(model: tf_keras.Model, tf_transform_output: tft.TFTransformOutput) -> Dict[str, Any]:
    """Builds the three signatures; the transform layer is tracked on the model so it is saved with it."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_feature_spec = tf_transform_output.raw_feature_spec()
    serving_feature_spec = {key: spec for key, spec in raw_feature_spec.items() if key == features.IMAGE_KEY}
    image_key = features.transformed_name(features.IMAGE_KEY)

    def predict_transformed(raw_features: Dict[str, Any]) -> Dict[str, tf.Tensor]:
        transformed = model.tft_layer(raw_features)
        return {OUTPUT_KEY: model(transformed[image_key], training=False)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized_examples: tf.Tensor) -> Dict[str, tf.Tensor]:
        return predict_transformed(tf.io.parse_example(serialized_examples, serving_feature_spec))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def serve_images(encoded_images: tf.Tensor) -> Dict[str, tf.Tensor]:
        raw_image = _raw_image_feature(encoded_images, raw_feature_spec[features.IMAGE_KEY])
        return predict_transformed({features.IMAGE_KEY: raw_image})

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized_examples: tf.Tensor) -> Dict[str, tf.Tensor]:
        return model.tft_layer(tf.io.parse_example(serialized_examples, raw_feature_spec))

    return {
        "serving_default": serve_examples.get_concrete_function(),
        "predict_images": serve_images.get_concrete_function(),
        "transform_features": transform_features.get_concrete_function(),
    }


def export_serving_model(model: tf_keras.Model, tf_transform_output: tft.TFTransformOutput, export_dir: str) -> None:
    """Writes the SavedModel; `tf.saved_model.save`, not `model.save(save_format="tf")` (see DESIGN.md)."""
    tf.saved_model.save(model, export_dir, signatures=serving_signatures(model, tf_transform_output))
