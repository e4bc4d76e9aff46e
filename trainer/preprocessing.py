"""Transform's `preprocessing_fn`: encoded image bytes -> float32 RGB in [0, 1] of a static size.

The same graph runs in training (through the Transform output) and in both serving signatures, so a client
sends encoded PNG/JPEG bytes of any size and gets what the model saw in training.
"""
from typing import Any, Dict

import tensorflow as tf

from trainer import features

DEFAULT_IMAGE_SIZE = 300


def _dense_strings(tensor: Any) -> tf.Tensor:
    """Flattens the raw `image` feature (dense [N] or [N, 1], or sparse with one value per row) to [N]."""
    if isinstance(tensor, tf.SparseTensor):
        tensor = tf.sparse.to_dense(tensor, default_value="")
    return tf.reshape(tensor, [-1])


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


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, tf.Tensor]:
    """TFT entry point; `custom_config["image_size"]` sets the side in pixels (default 300)."""
    image_size = int((custom_config or {}).get("image_size", DEFAULT_IMAGE_SIZE))
    outputs = {
        features.transformed_name(features.IMAGE_KEY):
            decode_and_scale(_dense_strings(inputs[features.IMAGE_KEY]), image_size),
    }
    if features.LABEL_KEY in inputs:
        labels = inputs[features.LABEL_KEY]
        if isinstance(labels, tf.SparseTensor):
            labels = tf.sparse.to_dense(labels)
        outputs[features.transformed_name(features.LABEL_KEY)] = tf.reshape(labels, [-1])
    return outputs
