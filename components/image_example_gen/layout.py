"""Where a file of the data folder goes: its split and class, or why it is rejected without being read.

The layout is that of the official Horses-or-Humans zips and of Keras' `image_dataset_from_directory`:
`DATA/{train,test}/{horses,humans}/IMAGE`. Paths here are posix paths relative to the data folder, the same
string the `filename` feature holds, so every rule below can be checked again from the examples alone.
"""
import hashlib
import posixpath
from typing import Iterable, List, NamedTuple, Optional

from trainer.features import CLASS_NAMES, EVAL_SPLIT, TEST_SPLIT, TRAIN_SPLIT

TRAIN_FOLDER = "train"
TEST_FOLDER = "test"

# The formats Keras' image_dataset_from_directory accepts; matched case-insensitively (".PNG" is an image too).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

# What `gc-tfx data` writes at the top of a folder it made (source, parameters): describes the data, is not data,
# so it is neither ingested nor listed as rejected. Any other hidden file is listed.
DATASET_DESCRIPTION_FILE = ".gc-tfx-dataset.json"

MIN_EVAL_PERCENT = 1
MAX_EVAL_PERCENT = 50
DEFAULT_EVAL_PERCENT = 10


class Placement(NamedTuple):
    """Where one file belongs. `split` is "" outside train/ and test/; `class_name` is "" outside a class folder."""

    path: str
    split: str
    class_name: str
    rejection: Optional[str]  # why the file cannot be an example, decided from its path alone; None if it may be


def validate_eval_percent(eval_percent: int, name: str = "eval_percent") -> int:
    """Returns `eval_percent` if it is an int in 1..50; half or more of train held out would starve training.

    `name` is what the message calls the value (the CLI says `--eval-percent`).
    """
    if isinstance(eval_percent, bool) or not isinstance(eval_percent, int):
        raise ValueError(f"{name} must be a whole number from {MIN_EVAL_PERCENT} to {MAX_EVAL_PERCENT}, "
                         f"got {eval_percent!r} of type {type(eval_percent).__name__}.")
    if not MIN_EVAL_PERCENT <= eval_percent <= MAX_EVAL_PERCENT:
        raise ValueError(f"{name} must be a whole number from {MIN_EVAL_PERCENT} to {MAX_EVAL_PERCENT} (percent of "
                         f"the training folder held out for validation), got {eval_percent!r}.")
    return eval_percent


def hash_bucket(path: str) -> int:
    """A bucket in 0..99 for `path`, stable across runs, machines and Python versions (unlike the salted `hash`)."""
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def split_of_training_file(path: str, eval_percent: int) -> str:
    """`eval` for the files whose bucket is below `eval_percent`, else `train`; raising the share only adds files."""
    return EVAL_SPLIT if hash_bucket(path) < eval_percent else TRAIN_SPLIT


def _split_of(top_folder: str, path: str, eval_percent: int) -> str:
    if top_folder == TRAIN_FOLDER:
        return split_of_training_file(path, eval_percent)
    if top_folder == TEST_FOLDER:
        return TEST_SPLIT
    return ""


def _extension_rejection(name: str) -> Optional[str]:
    extension = posixpath.splitext(name)[1]
    if extension.lower() in IMAGE_EXTENSIONS:
        return None
    found = f"extension {extension!r}" if extension else "no file extension"
    return f"not an image file name: {found} (expected one of {', '.join(IMAGE_EXTENSIONS)}, any case)"


def data_files(paths: Iterable[str]) -> List[str]:
    """`paths` without the folder's own description file (only at the top: deeper it is junk like any other)."""
    return [path for path in paths if path != DATASET_DESCRIPTION_FILE]


def place_file(path: str, eval_percent: int) -> Placement:
    """Places one file given by its posix path relative to the data folder, e.g. "train/horses/horse01-0.png"."""
    parts = path.split("/")
    top_folder = parts[0] if len(parts) > 1 else ""
    split = _split_of(top_folder, path, eval_percent)
    class_folder = parts[1] if len(parts) > 2 and split else ""
    class_name = class_folder if class_folder in CLASS_NAMES else ""

    # Hidden names are OS or tool junk (.DS_Store, ._AppleDouble, .ipynb_checkpoints/); listed, never read.
    hidden = [part for part in parts if part.startswith(".")]
    expected = f"{{{TRAIN_FOLDER},{TEST_FOLDER}}}/{{{','.join(CLASS_NAMES)}}}/IMAGE"
    if hidden:
        rejection = f"hidden file or folder {hidden[0]!r} (OS or tool metadata, not data)"
    elif not split:
        rejection = f"outside the {TRAIN_FOLDER}/ and {TEST_FOLDER}/ folders (expected {expected})"
    elif not class_folder:
        rejection = f"not inside a class folder of {top_folder}/ (expected {expected})"
    elif not class_name:
        rejection = f"unknown class folder {class_folder!r} (expected one of {', '.join(CLASS_NAMES)})"
    elif len(parts) > 3:
        rejection = f"inside a sub-folder of {top_folder}/{class_folder}/ (images must sit directly in it)"
    else:
        rejection = _extension_rejection(parts[-1])
    return Placement(path=path, split=split, class_name=class_name, rejection=rejection)
