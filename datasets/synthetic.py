"""The embedded default dataset: horse-like and human-like figures drawn procedurally, in the real data's layout.

Every image has its own seed derived from (seed, split, class, index), so images are independent of each other
and of the dataset size: generation runs in parallel, and the same seed writes byte-identical files (for the same
NumPy and Pillow versions). Class proportions follow the real Horses-or-Humans data.
"""
import concurrent.futures
import dataclasses
import multiprocessing
import os
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from absl import logging
from PIL import Image, ImageStat

from datasets import figures, layout, scenery
from trainer.features import CLASS_NAMES

DEFAULT_TRAIN_SIZE = layout.REAL_TRAIN_SIZE
DEFAULT_TEST_SIZE = layout.REAL_TEST_SIZE
DEFAULT_IMAGE_SIZE = layout.REAL_IMAGE_SIZE
MIN_IMAGE_SIZE = 32
# Horses per image in the real data: train 500 of 1027, test 128 of 256 (TFDS horses_or_humans).
HORSE_SHARE = {"train": (500, 1027), "test": (128, 256)}
SUPERSAMPLING = 2  # drawn at twice the size and averaged down, for smooth edges like the rendered originals
MAX_NOISE_STDDEV = 6.0  # per-pixel Gaussian noise, in 0-255 units
SOURCE = "synth"
MARKER_VERSION = 2  # bump when drawing changes, so older folders are redrawn rather than reused


@dataclasses.dataclass(frozen=True)
class RenderedImage:
    """One synthetic image and where its figure is: image (RGB, size x size), figure_mask (size, size) bool."""

    image: Image.Image
    figure_mask: np.ndarray


@dataclasses.dataclass(frozen=True)
class SynthesisSummary:
    """What `write_synthetic_dataset` left in `out`: counts[split][class_name], and whether it was reused."""

    out: Path
    counts: Dict[str, Dict[str, int]]
    image_size: int
    seed: int
    reused: bool
    seconds: float

    @property
    def total(self) -> int:
        return sum(sum(per_class.values()) for per_class in self.counts.values())


def class_counts(split: str, total: int) -> Dict[str, int]:
    """Images per class for a split of `total` images, in the real data's proportions (rounded to nearest)."""
    if split not in HORSE_SHARE:
        raise ValueError(f"Unknown split {split!r}; expected one of {tuple(HORSE_SHARE)}.")
    if total < 0:
        raise ValueError(f"The {split} split needs a non-negative number of images, got {total}.")
    horses, of_all = HORSE_SHARE[split]
    horse_count = (total * horses * 2 + of_all) // (of_all * 2)
    return {"horses": horse_count, "humans": total - horse_count}


def image_seed(seed: int, split: str, class_name: str, index: int) -> np.random.SeedSequence:
    """The seed of one image; any change of (seed, split, class, index) gives an unrelated random stream."""
    _check_seed(seed)
    layout.check_split_and_class(split, class_name)
    return np.random.SeedSequence([seed, layout.SPLITS.index(split), CLASS_NAMES.index(class_name), index])


def render_image(seed: int, split: str, class_name: str, index: int, image_size: int) -> RenderedImage:
    """Draws image `index` of `class_name` in `split`: background, one posed figure, lighting, pixel noise."""
    _check_image_size(image_size)
    rng = np.random.default_rng(image_seed(seed, split, class_name, index))
    canvas_size = image_size * SUPERSAMPLING
    backdrop = scenery.background(rng, canvas_size)
    palette = scenery.figure_palette(rng, np.array(ImageStat.Stat(backdrop).mean), figures.PALETTE_SIZE)
    parts = figures.place_figure(figures.FIGURE_BUILDERS[class_name](rng), rng, canvas_size)
    layer, coverage = figures.paint_parts(parts, palette, canvas_size)
    lit_layer = np.asarray(layer, dtype=np.float32) * _lighting(rng, canvas_size)[..., None]
    canvas = Image.composite(Image.fromarray(np.clip(lit_layer, 0, 255).astype(np.uint8)), backdrop, coverage)

    # reduce() averages SUPERSAMPLING x SUPERSAMPLING blocks: anti-aliased edges at the requested size.
    pixels = np.asarray(canvas.reduce(SUPERSAMPLING), dtype=np.float32)
    noise_stddev = rng.uniform(1.0, MAX_NOISE_STDDEV)
    pixels = pixels + noise_stddev * rng.standard_normal(size=pixels.shape, dtype=np.float32)
    figure_mask = np.asarray(coverage.reduce(SUPERSAMPLING)) >= 128
    return RenderedImage(Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8)), figure_mask)


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise ValueError(f"The seed must be non-negative, got {seed}.")


def _check_image_size(image_size: int) -> None:
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"The image size must be at least {MIN_IMAGE_SIZE} pixels, got {image_size}.")


def _lighting(rng: np.random.Generator, size: int) -> np.ndarray:
    """A gain (size, size) that brightens the figure on one side and darkens it on the other, like a sun."""
    angle = rng.uniform(0.0, 2.0 * np.pi)
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    x, y = np.meshgrid(axis, axis)
    return 1.0 + rng.uniform(0.05, 0.3) * (np.cos(angle) * x + np.sin(angle) * y) / np.sqrt(2.0)


def _image_jobs(seed: int, split_sizes: Dict[str, int], image_size: int,
                staging: Path) -> List[Tuple[int, str, str, int, int, str]]:
    jobs = []
    for split, total in split_sizes.items():
        for class_name, count in class_counts(split, total).items():
            folder = staging / split / class_name
            folder.mkdir(parents=True, exist_ok=True)
            jobs += [(seed, split, class_name, index, image_size, str(folder / layout.image_name(class_name, index)))
                     for index in range(count)]
    return jobs


def _write_image(job: Tuple[int, str, str, int, int, str]) -> None:
    seed, split, class_name, index, image_size, path = job
    render_image(seed, split, class_name, index, image_size).image.save(path, format="PNG")


def _run_jobs(jobs: List[Tuple[int, str, str, int, int, str]], workers: int) -> None:
    if workers <= 1 or len(jobs) < 4 * workers:
        for job in jobs:
            _write_image(job)
        return
    # "spawn", never "fork": callers such as `gc-tfx run` have TensorFlow loaded already, and forking a process
    # whose TensorFlow threads have started is unsupported. The workers import only this module (NumPy, Pillow).
    # A dead worker raises BrokenProcessPool.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as executor:
        for _ in executor.map(_write_image, jobs, chunksize=8):
            pass


def _reusable(marker: Optional[Dict], parameters: Dict, out: Path, split_sizes: Dict[str, int]) -> bool:
    if not marker or not marker.get("complete") or marker.get("parameters") != parameters:
        return False
    expected = {split: class_counts(split, total) for split, total in split_sizes.items()}
    return all(layout.count_images(out)[split] == counts for split, counts in expected.items())


def write_synthetic_dataset(out: os.PathLike, train_size: int = DEFAULT_TRAIN_SIZE,
                            test_size: int = DEFAULT_TEST_SIZE, image_size: int = DEFAULT_IMAGE_SIZE,
                            seed: int = 0, workers: Optional[int] = None) -> SynthesisSummary:
    """Writes `out/{train,test}/{horses,humans}/*.png`, or reuses `out` if it already holds exactly that.

    `out` must be new, empty, or an earlier output of this function; otherwise layout.OutputFolderError. Images
    are drawn into a temporary folder and moved into place when all are written, so an interrupted run leaves the
    previous content or nothing. `workers` defaults to the CPU count.
    """
    started = time.monotonic()
    split_sizes = {"train": train_size, "test": test_size}
    # Check every argument before anything is written.
    for split, total in split_sizes.items():
        class_counts(split, total)
    _check_seed(seed)
    _check_image_size(image_size)
    parameters = {"version": MARKER_VERSION, "seed": seed, "image_size": image_size, **{
        f"{split}_size": total for split, total in split_sizes.items()}}

    with layout.claimed_output_folder(out, SOURCE) as folder:
        if _reusable(folder.marker, parameters, folder.path, split_sizes):
            logging.info("%s already holds the synthetic dataset %s; nothing to do.", folder.path, parameters)
            return SynthesisSummary(folder.path, layout.count_images(folder.path), image_size, seed, True,
                                    time.monotonic() - started)
        staging = layout.temporary_path(folder.path, SOURCE)
        jobs = _image_jobs(seed, split_sizes, image_size, staging)
        logging.info("Drawing %d synthetic images into %s.", len(jobs), folder.path)
        _run_jobs(jobs, workers or os.cpu_count() or 1)
        layout.write_marker(folder.path, {"source": SOURCE, "complete": False})
        for split in layout.SPLITS:
            layout.publish_split(staging / split, folder.path, split)
        layout.write_marker(folder.path, {"source": SOURCE, "complete": True, "parameters": parameters})
        return SynthesisSummary(folder.path, layout.count_images(folder.path), image_size, seed, False,
                                time.monotonic() - started)


def describe(summary: SynthesisSummary) -> str:
    """The one-line summary the CLI prints."""
    per_split = layout.describe_counts(summary.counts)
    if summary.reused:
        return (f"{summary.out} already holds these {summary.total} synthetic images ({per_split}; "
                f"{summary.image_size}x{summary.image_size} px, seed {summary.seed}); nothing to do.")
    return (f"Drew {summary.total} synthetic images ({per_split}; {summary.image_size}x{summary.image_size} px, "
            f"seed {summary.seed}) into {summary.out} in {summary.seconds:.1f} s.")
