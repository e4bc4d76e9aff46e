"""Transform's `preprocessing_fn`: encoded image bytes -> float32 RGB in [0, 1] of a static size.

The same graph runs in training (through the Transform output) and in both serving signatures, so a client
sends encoded PNG/JPEG bytes of any size and gets what the model saw in training.
"""
from typing import Any, Dict

import tensorflow as tf

from trainer import features


def decode_and_scale(encoded_images: tf.Tensor, image_size: int) -> tf.Tensor:
    """Decodes a [N] string tensor of PNG/JPEG bytes to [N, size, size, 3] float32 in [0, 1].

    Resizing gives the static shape TFT's schema inference needs; grayscale and RGBA are coerced to RGB.
    """

    def decode_one(encoded: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image = tf.image.resize(image, [image_size, image_size])  # float32, still 0..255
        return tf.ensure_shape(image, [image_size, image_size, 3]) * (1.0 / 255.0)

    return tf.map_fn(decode_one, encoded_images,
                     fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.float32))


def preprocessing_fn(inputs: Dict[str, tf.Tensor], custom_config: Dict[str, Any]) -> Dict[str, tf.Tensor]:
    """TFT entry point; `custom_config["image_size"]` sets the side in pixels.

    The curated schema gives every feature exactly one value (`FixedLen([1])`), so inputs are dense [N, 1].
    Serving sends no label, so the label is transformed only when present.
    """
    image_size = int(custom_config["image_size"])
    outputs = {
        features.transformed_name(features.IMAGE_KEY):
            decode_and_scale(tf.reshape(inputs[features.IMAGE_KEY], [-1]), image_size),
    }
    if features.LABEL_KEY in inputs:
        outputs[features.transformed_name(features.LABEL_KEY)] = tf.reshape(inputs[features.LABEL_KEY], [-1])
    return outputs
