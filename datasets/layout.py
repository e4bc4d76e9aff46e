"""The data folder layout and the rules for writing one safely.

`DATA/{train,test}/{horses,humans}/*` is what the ExampleGen reads. A folder written by `gc-tfx data ...` carries a
marker file that says which command owns it and what content is trusted; work in progress lives only under
temporary names, so an interrupted command never leaves files that a later run would take for finished data.
"""
import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Union

from components.image_example_gen import layout as example_gen_layout
from trainer.features import CLASS_NAMES

SPLITS = ("train", "test")
# The real Horses-or-Humans data: images per split and their side in pixels; the synthetic default follows it.
REAL_TRAIN_SIZE = 1027
REAL_TEST_SIZE = 256
REAL_IMAGE_SIZE = 300
MARKER_FILE_NAME = example_gen_layout.DATASET_DESCRIPTION_FILE  # skipped by the ImageExampleGen
TEMPORARY_PREFIX = ".gc-tfx-tmp-"

PathLike = Union[str, os.PathLike]


class OutputFolderError(ValueError):
    """The output folder holds something these commands did not write, so they refuse to touch it."""


@dataclasses.dataclass(frozen=True)
class ClaimedFolder:
    """An output folder this process may write into, with the marker found there when it was claimed."""

    path: Path
    marker: Optional[Dict[str, Any]]
    created: bool


def check_split_and_class(split: str, class_name: str) -> None:
    """Raises ValueError unless `split` and `class_name` are folder names of the layout."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    if class_name not in CLASS_NAMES:
        raise ValueError(f"Unknown class {class_name!r}; expected one of {CLASS_NAMES}.")


def class_folder(root: PathLike, split: str, class_name: str) -> Path:
    """`root/split/class_name`, after checking both names against the layout."""
    check_split_and_class(split, class_name)
    return Path(root) / split / class_name


def image_name(class_name: str, index: int, extension: str = ".png") -> str:
    """The file name of a class's `index`-th image, e.g. "horse-00042.png" (like the real data's "horse01-0.png");
    both `gc-tfx data` commands name their files so."""
    return f"{class_name[:-1]}-{index:05d}{extension}"


def count_images(root: PathLike) -> Dict[str, Dict[str, int]]:
    """Files per split and class, e.g. {"train": {"horses": 500, "humans": 527}, ...}; missing folders count 0."""
    counts: Dict[str, Dict[str, int]] = {}
    for split in SPLITS:
        counts[split] = {}
        for class_name in CLASS_NAMES:
            folder = class_folder(root, split, class_name)
            counts[split][class_name] = (
                sum(1 for entry in folder.iterdir() if entry.is_file()) if folder.is_dir() else 0)
    return counts


def describe_counts(counts: Dict[str, Dict[str, int]]) -> str:
    """Counts as one phrase for summaries: `train: 500 horses, 527 humans; test: 128 horses, 128 humans`."""
    return "; ".join(", ".join([f"{split}: {per_class[CLASS_NAMES[0]]} {CLASS_NAMES[0]}"] +
                               [f"{per_class[name]} {name}" for name in CLASS_NAMES[1:]])
                     for split, per_class in counts.items())


def temporary_path(out: PathLike, name: str) -> Path:
    """A path inside `out` that the claim rules treat as disposable work in progress."""
    return Path(out) / f"{TEMPORARY_PREFIX}{name}"


def read_marker(out: PathLike) -> Optional[Dict[str, Any]]:
    """The marker's content, or None when `out` has no marker."""
    marker_path = Path(out) / MARKER_FILE_NAME
    if not marker_path.is_file():
        return None
    try:
        marker = json.loads(marker_path.read_text())
    except (OSError, ValueError) as error:
        raise OutputFolderError(f"Cannot read the marker {marker_path}: {error}. Delete {out} and rerun.") from error
    if not isinstance(marker, dict) or not isinstance(marker.get("source"), str):
        raise OutputFolderError(f"The marker {marker_path} is not a gc-tfx dataset marker. Delete {out} and rerun.")
    return marker


def write_marker(out: PathLike, marker: Mapping[str, Any]) -> None:
    """Replaces the marker atomically, so a reader sees the old content or the new, never half of it."""
    staging = temporary_path(out, "marker.json")
    staging.write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    os.replace(staging, Path(out) / MARKER_FILE_NAME)


def remove_temporary_entries(out: PathLike) -> None:
    """Deletes leftovers of an interrupted command: every entry of `out` with the temporary prefix."""
    for entry in Path(out).iterdir():
        if entry.name.startswith(TEMPORARY_PREFIX):
            _remove(entry)


def publish_split(staged_split: Path, out: PathLike, split: str) -> Path:
    """Moves a finished `split` folder into place with one rename, replacing an older one."""
    destination = Path(out) / split
    if destination.exists():
        _remove(destination)
    os.rename(staged_split, destination)
    return destination


@contextlib.contextmanager
def claimed_output_folder(out: PathLike, source: str) -> Iterator[ClaimedFolder]:
    """Claims `out` for the command `source` ("synth" or "fetch") and cleans up after it, however it ends.

    `out` may be missing, empty, hold only leftovers of an interrupted command, or carry a marker from the same
    command; anything else raises OutputFolderError. On exit the temporary entries are removed, and a folder this
    call created is removed again if nothing was published into it.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"{path} is a file, not a folder; choose a folder for the images.")
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    marker = read_marker(path)
    if marker is None:
        foreign = sorted(entry.name for entry in path.iterdir() if not entry.name.startswith(TEMPORARY_PREFIX))
        if foreign:
            raise OutputFolderError(
                f"{path} is not empty (it holds {', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}) "
                f"and was not written by `gc-tfx data {source}`; refusing to overwrite it. "
                "Choose a new or empty folder.")
    elif marker["source"] != source:
        raise OutputFolderError(
            f"{path} holds data written by `gc-tfx data {marker['source']}`; refusing to replace it with "
            f"`gc-tfx data {source}`. Choose another folder or delete this one.")
    remove_temporary_entries(path)
    try:
        yield ClaimedFolder(path, marker, created)
    finally:
        remove_temporary_entries(path)
        if created and not any(path.iterdir()):
            path.rmdir()


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()
