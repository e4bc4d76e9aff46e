"""Test images drawn with Pillow (and TensorFlow for 16-bit RGB, which Pillow cannot write) and data folders.

Each awkward case records the shape and colour `tf.io.decode_image(channels=3)` must give after ingestion.
"""
import functools
import io
import os
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np
import tensorflow as tf
from PIL import Image

from trainer.features import CLASS_NAMES

Colour = Tuple[int, int, int]
CLASS_COLOURS: Dict[str, Colour] = {"horses": (160, 82, 45), "humans": (30, 144, 255)}


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def rgb_png(colour: Colour, size: Tuple[int, int] = (8, 8)) -> bytes:
    return encode(Image.new("RGB", size, colour), "PNG")


def rgb_jpeg(colour: Colour, size: Tuple[int, int] = (16, 16)) -> bytes:
    return encode(Image.new("RGB", size, colour), "JPEG", quality=95)


def gray16_png(value: int, size: Tuple[int, int] = (6, 4)) -> bytes:
    return encode(Image.fromarray(np.full(size[::-1], value, dtype=np.uint16)), "PNG")


def rgb16_png(colour16: Tuple[int, int, int], size: Tuple[int, int] = (5, 3)) -> bytes:
    pixels = np.broadcast_to(np.array(colour16, dtype=np.uint16), (size[1], size[0], 3))
    return tf.io.encode_png(tf.constant(pixels)).numpy()


def rgba_png() -> bytes:
    """2x1: left pixel red at half opacity, right pixel fully transparent black."""
    image = Image.new("RGBA", (2, 1))
    image.putpixel((0, 0), (255, 0, 0, 128))
    image.putpixel((1, 0), (0, 0, 0, 0))
    return encode(image, "PNG")


def palette_png(transparent_index: Optional[int] = None) -> bytes:
    """2x1 palette image: left pixel index 0 (red), right pixel index 1 (green)."""
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    image.putpixel((1, 0), 1)
    options = {} if transparent_index is None else {"transparency": transparent_index}
    return encode(image, "PNG", **options)


def animated_gif() -> bytes:
    """Two 3x2 frames, red then green; decode_image would return both as a 4-D tensor."""
    frames = [Image.new("RGB", (3, 2), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:])


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


class AwkwardImage(NamedTuple):
    """A valid image in an awkward form and what decode_image(channels=3) must give after ingestion."""

    file_name: str
    data: bytes
    shape: Tuple[int, int, int]
    colour: Colour  # of pixel (0, 0)
    tolerance: int  # per channel, for lossy formats and rounding


@functools.lru_cache(maxsize=None)
def awkward_images() -> Dict[str, AwkwardImage]:
    """Valid images that need normalising (or, for upper-case and tiny, at least must not trip anything).

    Cached: the large ones take a moment to draw. Callers must not modify the dict.
    """
    cases = [
        AwkwardImage("grayscale.png", encode(Image.new("L", (4, 3), 128), "PNG"), (3, 4, 3), (128, 128, 128), 0),
        AwkwardImage("grayscale16.png", gray16_png(128 * 257), (4, 6, 3), (128, 128, 128), 0),
        AwkwardImage("rgb16.png", rgb16_png((65535, 0, 128 * 257)), (3, 5, 3), (255, 0, 128), 1),
        AwkwardImage("rgba.png", rgba_png(), (1, 2, 3), (255, 127, 127), 1),
        AwkwardImage("palette.png", palette_png(), (1, 2, 3), (255, 0, 0), 0),
        AwkwardImage("palette_transparent.png", palette_png(transparent_index=0), (1, 2, 3), (255, 255, 255), 0),
        AwkwardImage("cmyk.jpg", cmyk_jpeg(), (16, 16, 3), (255, 0, 0), 12),
        AwkwardImage("grayscale.jpg", encode(Image.new("L", (8, 8), 200), "JPEG"), (8, 8, 3), (200, 200, 200), 4),
        AwkwardImage("UPPER_CASE.PNG", rgb_png((10, 20, 30)), (8, 8, 3), (10, 20, 30), 0),
        AwkwardImage("UPPER_CASE.JPEG", rgb_jpeg((200, 40, 40)), (16, 16, 3), (200, 40, 40), 12),
        AwkwardImage("tiny.png", rgb_png((1, 2, 3), size=(1, 1)), (1, 1, 3), (1, 2, 3), 0),
        AwkwardImage("large.png", rgb_png((90, 180, 45), size=(3000, 1500)), (512, 1024, 3), (90, 180, 45), 0),
        AwkwardImage("tall.jpg", rgb_jpeg((40, 60, 200), size=(600, 2048)), (1024, 300, 3), (40, 60, 200), 12),
        AwkwardImage("animated.gif", animated_gif(), (2, 3, 3), (255, 0, 0), 0),
        AwkwardImage("bitmap.bmp", encode(Image.new("RGB", (3, 2), (0, 0, 255)), "BMP"), (2, 3, 3), (0, 0, 255), 0),
    ]
    return {case.file_name: case for case in cases}


def write_file(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(data)


def write_clean_data_folder(root: str, train_per_class: int, test_per_class: int) -> Dict[str, int]:
    """DATA/{train,test}/{class}/{class}-NNN.png in each class's colour; returns {relative path: label}."""
    labels = {}
    for folder, count in (("train", train_per_class), ("test", test_per_class)):
        for label, class_name in enumerate(CLASS_NAMES):
            for index in range(count):
                relative_path = f"{folder}/{class_name}/{class_name}-{index:03d}.png"
                write_file(os.path.join(root, relative_path), rgb_png(CLASS_COLOURS[class_name]))
                labels[relative_path] = label
    return labels
