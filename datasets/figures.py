"""Horse-like and human-like figures as coloured polygons: the only thing that carries the label in synthetic data.

A figure is built in its own units (a horse's body is 1 long, a person is about 1 tall; x forward, y down) with a
random pose, then placed on the canvas. Both classes take colours from one palette distribution and are flipped,
tilted and sized by the same rules (size by painted area, not by height), so a classifier has to learn the shape.
"""
import dataclasses
import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

PALETTE_SIZE = 3  # colour slots: 0 = main (coat, shirt), 1 = second (mane and tail, trousers), 2 = accents
# Painted area of a figure as a fraction of the canvas, before the fit-in-frame limit. Figures this large (like the
# real data's, which fill much of the frame) let the seed CNN learn the shapes at the seed's schedule: 10 epochs
# of RMSprop 1e-4 reached test accuracy 0.93 (docs/study.md, "The default data"); at 0.06-0.16 it stayed at
# chance.
MIN_AREA_FRACTION = 0.20
MAX_AREA_FRACTION = 0.40
MAX_EXTENT_FRACTION = 0.95  # the figure's bounding box never exceeds this share of the canvas side


@dataclasses.dataclass(frozen=True)
class Part:
    """One filled polygon of a figure: (N, 2) points in figure units and the palette slot that colours it."""

    polygon: np.ndarray
    colour_slot: int


def _unit(angle_degrees: float) -> np.ndarray:
    """Direction at `angle_degrees` from straight down, positive towards +x (0 = down, 90 = forward, 180 = up)."""
    radians = math.radians(angle_degrees)
    return np.array([math.sin(radians), math.cos(radians)])


def _rotation(angle_degrees: float) -> np.ndarray:
    radians = math.radians(angle_degrees)
    return np.array([[math.cos(radians), -math.sin(radians)], [math.sin(radians), math.cos(radians)]])


def _ellipse(center: Sequence[float], radius_x: float, radius_y: float, tilt_degrees: float = 0.0,
             points: int = 24) -> np.ndarray:
    angles = np.linspace(0.0, 2.0 * math.pi, points, endpoint=False)
    outline = np.stack([radius_x * np.cos(angles), radius_y * np.sin(angles)], axis=1)
    return outline @ _rotation(tilt_degrees).T + np.asarray(center, dtype=float)


def _capsule(start: np.ndarray, end: np.ndarray, start_radius: float, end_radius: float,
             points_per_cap: int = 7) -> np.ndarray:
    """A limb segment: a tapered bar with round ends, so chained segments join without gaps."""
    along = end - start
    heading = math.atan2(along[1], along[0])
    cap_angles = np.linspace(-math.pi / 2, math.pi / 2, points_per_cap)
    end_cap = end + end_radius * np.stack([np.cos(heading + cap_angles), np.sin(heading + cap_angles)], axis=1)
    start_cap = start + start_radius * np.stack(
        [np.cos(heading + math.pi + cap_angles), np.sin(heading + math.pi + cap_angles)], axis=1)
    return np.concatenate([end_cap, start_cap])


def _limb(start: Sequence[float], angles: Sequence[float], lengths: Sequence[float], radii: Sequence[float],
          colour_slot: int) -> Tuple[List[Part], np.ndarray]:
    """Chained capsules from `start`, one per (angle, length); `radii` has one more entry than `angles`."""
    parts = []
    joint = np.asarray(start, dtype=float)
    for index, (angle, length) in enumerate(zip(angles, lengths)):
        next_joint = joint + length * _unit(angle)
        parts.append(Part(_capsule(joint, next_joint, radii[index], radii[index + 1]), colour_slot))
        joint = next_joint
    return parts, joint


def horse_parts(rng: np.random.Generator) -> List[Part]:
    """A horse facing +x: long body, four jointed legs with hooves, neck, head with ears, mane and tail."""
    body_height = rng.uniform(0.30, 0.40)
    parts = [
        Part(_ellipse((0.0, 0.0), 0.5, body_height / 2), 0),
        Part(_ellipse((0.30, -0.02), 0.21, body_height * 0.56, rng.uniform(-15, 15)), 0),
        Part(_ellipse((-0.31, -0.03), 0.22, body_height * 0.55, rng.uniform(-15, 15)), 0),
    ]
    for attach_x, is_front in ((0.27, True), (0.36, True), (-0.38, False), (-0.28, False)):
        upper_angle = rng.uniform(-25, 40) if is_front else rng.uniform(-40, 25)
        lower_angle = upper_angle + (rng.uniform(-60, 5) if is_front else rng.uniform(-5, 45))
        lengths = (rng.uniform(0.25, 0.30), rng.uniform(0.25, 0.32))
        leg, ankle = _limb((attach_x, body_height * 0.2), (upper_angle, lower_angle), lengths,
                           (0.06, 0.04, 0.03), 0)
        parts += leg
        hoof, _ = _limb(ankle, (lower_angle,), (0.05,), (0.035, 0.038), 2)
        parts += hoof

    neck_base = np.array([0.36, -body_height * 0.25])
    neck_angle = rng.uniform(115, 155)
    neck, poll = _limb(neck_base, (neck_angle,), (rng.uniform(0.30, 0.42),), (0.12, 0.07), 0)
    mane_offset = 0.06 * _unit(neck_angle - 90)  # along the back of the neck
    mane, _ = _limb(neck_base + mane_offset, (neck_angle,), (np.hypot(*(poll - neck_base)) * 0.95,),
                    (0.04, 0.025), 1)
    head_angle = rng.uniform(25, 95)
    head, _ = _limb(poll, (head_angle,), (rng.uniform(0.24, 0.30),), (0.075, 0.045), 0)
    ear, _ = _limb(poll, (neck_angle + rng.uniform(-10, 20),), (0.09,), (0.025, 0.008), 0)
    tail, _ = _limb((-0.5, -body_height * 0.15), (rng.uniform(-130, -70), rng.uniform(-60, -10)),
                    (rng.uniform(0.15, 0.22), rng.uniform(0.20, 0.30)), (0.045, 0.035, 0.02), 1)
    return parts + neck + mane + head + ear + tail


def human_parts(rng: np.random.Generator) -> List[Part]:
    """A person standing upright, origin at the hips: torso, two jointed legs with feet, two jointed arms, head."""
    hip_half_width = rng.uniform(0.04, 0.06)
    shoulder_half_width = rng.uniform(0.10, 0.13)
    parts = []
    for side in (-1, 1):
        upper_angle = side * rng.uniform(-5, 35)
        lower_angle = upper_angle + rng.uniform(-20, 20)
        leg, ankle = _limb((side * hip_half_width, 0.0), (upper_angle, lower_angle),
                           (rng.uniform(0.22, 0.26), rng.uniform(0.22, 0.26)), (0.055, 0.045, 0.04), 1)
        foot, _ = _limb(ankle, (side * rng.uniform(60, 100),), (0.07,), (0.035, 0.03), 2)
        parts += leg + foot

    torso = np.array([(-hip_half_width * 1.7, 0.03), (hip_half_width * 1.7, 0.03),
                      (shoulder_half_width, -0.30), (shoulder_half_width * 0.8, -0.34),
                      (-shoulder_half_width * 0.8, -0.34), (-shoulder_half_width, -0.30)])
    upper_body = [Part(torso, 0)]
    for side in (-1, 1):
        upper_angle = side * rng.uniform(5, 160)
        arm, wrist = _limb((side * shoulder_half_width * 0.9, -0.30),
                           (upper_angle, upper_angle + rng.uniform(-70, 70)),
                           (rng.uniform(0.15, 0.18), rng.uniform(0.14, 0.17)), (0.042, 0.034, 0.028), 0)
        upper_body += arm + [Part(_ellipse(wrist, 0.032, 0.032), 2)]
    neck, _ = _limb((0.0, -0.33), (180,), (0.05,), (0.035, 0.035), 2)
    head_center = (0.0, -0.44)
    upper_body += neck + [Part(_ellipse(head_center, rng.uniform(0.06, 0.07), rng.uniform(0.075, 0.085),
                                        rng.uniform(-15, 15)), 2)]
    if rng.uniform() < 0.4:  # hair or a hat
        upper_body.append(Part(_ellipse((0.0, -0.49), 0.068, 0.04), 1))
    lean = _rotation(rng.uniform(-12, 12))
    return parts + [Part(part.polygon @ lean.T, part.colour_slot) for part in upper_body]


FIGURE_BUILDERS: Dict[str, Callable[[np.random.Generator], List[Part]]] = {
    "horses": horse_parts,
    "humans": human_parts,
}


def _painted_area(polygons: List[np.ndarray], low: np.ndarray, high: np.ndarray, resolution: int = 96) -> float:
    """Area the polygons cover together, in figure units squared, measured by rasterising them coarsely.

    Summing polygon areas would count overlaps (legs on the body) twice, and horses overlap more than humans.
    """
    pixels_per_unit = resolution / float(max(high - low))
    raster = Image.new("L", (resolution + 1, resolution + 1), 0)
    draw = ImageDraw.Draw(raster)
    for polygon in polygons:
        draw.polygon([tuple(point) for point in ((polygon - low) * pixels_per_unit).tolist()], fill=1)
    return float(np.asarray(raster, dtype=np.float32).sum()) / pixels_per_unit ** 2


def place_figure(parts: List[Part], rng: np.random.Generator, canvas_size: float) -> List[Part]:
    """Flips, tilts, scales and moves a figure into a square canvas of `canvas_size` pixels, fully inside it.

    The scale comes from a target painted area, so horses and humans cover about the same number of pixels and the
    share of figure colour in an image says little about the class.
    """
    transform = _rotation(rng.uniform(-8, 8))
    if rng.uniform() < 0.5:
        transform = transform @ np.diag([-1.0, 1.0])
    polygons = [part.polygon @ transform.T for part in parts]
    all_points = np.concatenate(polygons)
    low, high = all_points.min(axis=0), all_points.max(axis=0)
    painted_area = _painted_area(polygons, low, high)
    target_area = rng.uniform(MIN_AREA_FRACTION, MAX_AREA_FRACTION) * canvas_size ** 2
    scale = min(math.sqrt(target_area / painted_area), MAX_EXTENT_FRACTION * canvas_size / float(max(high - low)))
    extent = (high - low) * scale
    offset = rng.uniform(0.0, 1.0, size=2) * (canvas_size - extent) - low * scale
    return [Part(polygon * scale + offset, part.colour_slot) for polygon, part in zip(polygons, parts)]


def paint_parts(parts: List[Part], palette: np.ndarray, canvas_size: int) -> Tuple[Image.Image, Image.Image]:
    """Paints placed parts in order; returns the RGB layer and its coverage mask ("L", 255 inside the figure)."""
    layer = Image.new("RGB", (canvas_size, canvas_size))
    mask = Image.new("L", (canvas_size, canvas_size), 0)
    layer_draw, mask_draw = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    for part in parts:
        points = [tuple(point) for point in part.polygon.tolist()]
        layer_draw.polygon(points, fill=tuple(int(round(c)) for c in palette[part.colour_slot]))
        mask_draw.polygon(points, fill=255)
    return layer, mask
