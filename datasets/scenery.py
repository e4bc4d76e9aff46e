"""Colours, backgrounds and clutter for synthetic images: variety that carries no information about the label.

Backgrounds and figures draw their colours from the same distribution, so neither the colour of an image nor the
colour of its figure says which class it shows.
"""
import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

MIN_FIGURE_CONTRAST = 100.0  # RGB distance between a figure's main colour and the background's mean colour
MAX_BLOTCH_AMPLITUDE = 15.0  # low-frequency colour variation of the backdrop, in 0-255 units
CLUTTER_SHAPES = (0, 4)  # how many clutter shapes a background gets: low inclusive, high exclusive


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """An RGB colour (3 floats in [0, 255]) from the one distribution every synthetic colour comes from."""
    red, green, blue = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.05, 0.85), rng.uniform(0.15, 0.95))
    return np.array([red, green, blue]) * 255.0


def figure_palette(rng: np.random.Generator, background_mean: np.ndarray, slots: int) -> np.ndarray:
    """`slots` colours (slots, 3) for a figure; the main one is redrawn until it stands out from the background.

    The redraw depends only on the background, which does not depend on the class, so both classes still share
    one colour distribution.
    """
    palette = np.stack([random_colour(rng) for _ in range(slots)])
    for _ in range(50):
        if np.linalg.norm(palette[0] - background_mean) >= MIN_FIGURE_CONTRAST:
            break
        palette[0] = random_colour(rng)
    return palette


def _coordinates(size: int) -> np.ndarray:
    """(size, size, 2) pixel-centre coordinates scaled to [0, 1]; [..., 0] is x, [..., 1] is y."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = np.meshgrid(axis, axis)
    return np.stack([x, y], axis=-1)


def _blend(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-pixel mix of two colours: weight (H, W) in [0, 1] → (H, W, 3)."""
    weight = np.clip(weight, 0.0, 1.0)[..., None]
    first, second = first.astype(np.float32), second.astype(np.float32)
    return first + (second - first) * weight


def _gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    """One of three backdrops as float32 (size, size, 3): a linear gradient, a horizon, or a radial glow."""
    coordinates = _coordinates(size)
    style = rng.integers(3)
    if style == 0:
        angle = rng.uniform(0.0, 2.0 * math.pi)
        projection = coordinates @ np.array([math.cos(angle), math.sin(angle)], dtype=np.float32)
        weight = (projection - projection.min()) / max(float(np.ptp(projection)), 1e-6)
        return _blend(random_colour(rng), random_colour(rng), weight)
    if style == 1:
        horizon = rng.uniform(0.35, 0.8)
        y = coordinates[..., 1]
        sky = _blend(random_colour(rng), random_colour(rng), y / horizon)
        ground = _blend(random_colour(rng), random_colour(rng), (y - horizon) / (1.0 - horizon))
        return np.where((y < horizon)[..., None], sky, ground)
    center = rng.uniform(0.2, 0.8, size=2).astype(np.float32)
    distance = np.linalg.norm(coordinates - center, axis=-1)
    return _blend(random_colour(rng), random_colour(rng), distance / rng.uniform(0.5, 1.2))


def _blotches(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth low-frequency colour variation, float32 (size, size, 3) around zero, like foliage or clouds."""
    cells = int(rng.integers(3, 9))
    amplitude = rng.uniform(0.0, MAX_BLOTCH_AMPLITUDE)
    coarse = rng.normal(0.0, 1.0, size=(cells, cells, 3))
    coarse_image = Image.fromarray(np.clip(coarse * 40.0 + 128.0, 0, 255).astype(np.uint8))
    smooth = np.asarray(coarse_image.resize((size, size), Image.BICUBIC), dtype=np.float32)
    return (smooth - 128.0) / 40.0 * amplitude


def _draw_clutter(image: Image.Image, rng: np.random.Generator) -> None:
    """Ellipses, boxes, poles and triangles in random colours, some see-through, behind where figures go."""
    size = image.size[0]
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(int(rng.integers(*CLUTTER_SHAPES))):
        colour = tuple(int(c) for c in random_colour(rng)) + (int(rng.uniform(90, 255)),)
        x, y = rng.uniform(0, size, size=2)
        width, height = rng.uniform(0.03, 0.3, size=2) * size
        kind = rng.integers(4)
        if kind == 0:
            draw.ellipse((x - width / 2, y - height / 2, x + width / 2, y + height / 2), fill=colour)
        elif kind == 1:
            draw.rectangle((x - width / 2, y - height / 2, x + width / 2, y + height / 2), fill=colour)
        elif kind == 2:
            end = (x + rng.uniform(-0.15, 0.15) * size, y + rng.uniform(-0.6, 0.6) * size)
            draw.line((x, y, *end), fill=colour, width=max(1, int(rng.uniform(0.01, 0.04) * size)))
        else:
            corners = rng.uniform(-0.5, 0.5, size=(3, 2)) * (width, height) + (x, y)
            draw.polygon([tuple(corner) for corner in corners.tolist()], fill=colour)


def background(rng: np.random.Generator, size: int) -> Image.Image:
    """A (size x size) RGB background: backdrop, blotches and clutter."""
    backdrop = _gradient(rng, size) + _blotches(rng, size)
    image = Image.fromarray(np.clip(backdrop, 0, 255).astype(np.uint8))
    _draw_clutter(image, rng)
    return image
