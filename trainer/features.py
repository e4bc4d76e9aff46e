"""Feature keys shared by the ExampleGen, Transform, the Trainers and serving.

Labels follow the folder names in sorted order, as Keras' image_dataset_from_directory and TFDS do.
"""
from typing import Tuple

IMAGE_KEY = "image"  # encoded PNG/JPEG bytes
LABEL_KEY = "label"  # int64: index into CLASS_NAMES
FILENAME_KEY = "filename"  # path relative to the data folder, e.g. "train/horses/horse01-0.png"

CLASS_NAMES: Tuple[str, ...] = ("horses", "humans")
POSITIVE_CLASS = "humans"  # the model's sigmoid output is the probability of this class
SERVING_SIGNATURE = "serving_default"  # the exported model's signature the Evaluator and TF Serving call
# A probability above it predicts POSITIVE_CLASS, as Keras' and TFMA's binary accuracy count it.
DECISION_THRESHOLD = 0.5

# The ExampleGen's splits: `eval` (validation during training) is carved from train/ by a hash of the file name;
# `test` is never seen in training and never used to pick a seed.
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
TEST_SPLIT = "test"
SPLIT_NAMES = (TRAIN_SPLIT, EVAL_SPLIT, TEST_SPLIT)


def transformed_name(key: str) -> str:
    """Name of a feature after Transform, as in the TFX templates."""
    return f"{key}_xf"
