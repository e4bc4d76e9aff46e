"""Turns the bytes of one image file into bytes Transform can decode with `tf.io.decode_image(..., channels=3)`.

Already-fine files (8-bit RGB PNG or RGB JPEG, at most MAX_SIDE pixels a side) keep their exact bytes, so
ingestion adds no re-encoding loss. Everything else Pillow can decode is re-encoded as an 8-bit RGB PNG:
grayscale and 16-bit images are scaled to 8-bit RGB, palette images expanded, CMYK converted, GIF/BMP (which
`decode_image` returns as 4-D or not at all in some TF builds) flattened, and transparent images composited on
white. Files that cannot be decoded raise UnusableImageError with a one-line reason for rejected.csv.
"""
import io
from typing import NamedTuple

import numpy as np
import tensorflow as tf
from PIL import Image

# Larger images are downscaled (aspect kept) to this many pixels on their longest side. The model trains at
# 300 px; 1024 keeps room for larger training sizes while bounding the memory Transform needs per image.
MAX_SIDE = 1024

# Transparent pixels store arbitrary colours that `decode_image(channels=3)` would expose by dropping alpha;
# compositing on white shows a cut-out figure on a plain background, as image viewers do.
_TRANSPARENT_BACKGROUND = (255, 255, 255)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TRUECOLOR = 2  # IHDR colour type of 8- or 16-bit RGB without alpha
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_MODES_WITH_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


class UnusableImageError(ValueError):
    """The bytes are not an image that can be decoded; `reason` is one line for rejected.csv."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NormalizedImage(NamedTuple):
    """Encoded bytes ready for `decode_image(channels=3)`; width and height in pixels after any downscale."""

    encoded: bytes
    width: int
    height: int
    reencoded: bool


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _decode_with_pillow(data: bytes) -> Image.Image:
    if not data:
        raise UnusableImageError("empty file (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise UnusableImageError(f"too many pixels to decode safely: {_one_line(error)}") from error
    except Image.UnidentifiedImageError as error:
        raise UnusableImageError("not an image: Pillow cannot identify the file format") from error
    except (OSError, SyntaxError, ValueError) as error:  # the header itself is cut short or malformed
        raise UnusableImageError(f"truncated or corrupt image: {_one_line(error)}") from error
    try:
        image.load()  # Image.open only reads the header; truncation shows when the pixels are decoded.
    except (OSError, SyntaxError, ValueError) as error:
        raise UnusableImageError(f"truncated or corrupt {image.format} image: {_one_line(error)}") from error
    return image


def _is_8_bit_truecolor_png(data: bytes) -> bool:
    # IHDR is always the first chunk: signature (8), length (4), type (4), width (4), height (4), then the
    # bit depth and colour type bytes. Pillow reports 16-bit RGB as mode "RGB", so it cannot tell us.
    return data.startswith(_PNG_SIGNATURE) and len(data) > 25 and data[24] == 8 and data[25] == _PNG_TRUECOLOR


def _is_fine_as_is(image: Image.Image, data: bytes) -> bool:
    if max(image.size) > MAX_SIDE or image.mode != "RGB":
        return False
    if image.format == "JPEG":
        return True
    return image.format == "PNG" and _is_8_bit_truecolor_png(data)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT_MODES:
        # convert("RGB") clips 16-bit values at 255 instead of scaling them; 65535 / 257 = 255.
        scaled = np.clip(np.asarray(image, dtype=np.float64) / 257.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(scaled, mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _MODES_WITH_ALPHA:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _TRANSPARENT_BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _decodes_with_tensorflow(data: bytes) -> bool:
    """Whether Transform's decoder accepts the bytes; it is stricter than Pillow on some damaged JPEGs."""
    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError:
        return False
    return True


def normalize_image(data: bytes) -> NormalizedImage:
    """Validates one image file's bytes and returns them, re-encoded as 8-bit RGB PNG where needed."""
    image = _decode_with_pillow(data)
    if _is_fine_as_is(image, data) and _decodes_with_tensorflow(data):
        return NormalizedImage(encoded=data, width=image.width, height=image.height, reencoded=False)
    rgb = _to_rgb(image)
    if max(rgb.size) > MAX_SIDE:
        rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    encoded = _encode_png(rgb)
    return NormalizedImage(encoded=encoded, width=rgb.width, height=rgb.height, reencoded=True)
