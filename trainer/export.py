"""SavedModel export with two signatures that both run Transform's graph before the CNN.

- `serving_default`: serialized tf.Examples holding `image` (encoded bytes) -> probability of `humans`; the
  Evaluator (TFMA) feeds the test split's raw examples through it.
- `predict_images`: a 1-D string tensor of encoded PNG/JPEG images of any size -> the same probability.
"""
from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras

from trainer import features

OUTPUT_KEY = "probability"


def serving_signatures(model: tf_keras.Model, tf_transform_output: tft.TFTransformOutput) -> Dict[str, Any]:
    """Builds both signatures; the transform layer is tracked on the model so it is saved with it."""
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
        # Shaped as the schema's FixedLen([1]) `image` feature is parsed: [N, 1].
        return predict_transformed({features.IMAGE_KEY: tf.reshape(encoded_images, [-1, 1])})

    return {
        features.SERVING_SIGNATURE: serve_examples.get_concrete_function(),
        "predict_images": serve_images.get_concrete_function(),
    }


def export_serving_model(model: tf_keras.Model, tf_transform_output: tft.TFTransformOutput, export_dir: str) -> None:
    """Writes the SavedModel; `tf.saved_model.save`, not `model.save(save_format="tf")` (docs/architecture.md)."""
    tf.saved_model.save(model, export_dir, signatures=serving_signatures(model, tf_transform_output))
