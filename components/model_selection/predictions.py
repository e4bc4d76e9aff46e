"""Per-example predictions of exported models on one split of an Examples artifact.

McNemar's test needs to know, example by example, which model was right, and the seed choice needs eval-split
scores; TFMA reports only aggregates. Both models of a pair read the same examples in the same order through
the same `serving_default` signature the Evaluator uses, so the accuracy computed here matches TFMA's.
"""
import dataclasses
from typing import Any, List

import numpy as np
import tensorflow as tf
from tfx import types
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from trainer import features
from trainer.export import OUTPUT_KEY

BATCH_SIZE = 32
SIGNATURE = "serving_default"  # the one the Evaluator and TF Serving call
THRESHOLD = 0.5  # a probability above it predicts `humans`, as TFMA's and Keras' BinaryAccuracy do
EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1 - EPSILON] for the log loss, as Keras does


@dataclasses.dataclass(frozen=True)
class SplitExamples:
    """One split's serialized tf.Examples, in file order, and their labels."""

    serialized: List[bytes]
    labels: np.ndarray  # int (n,)


def load_split(examples: types.Artifact, split: str) -> SplitExamples:
    """Reads every example of `split` (gzipped TFRecords, as ExampleGen writes them)."""
    split_uri = artifact_utils.get_split_uri([examples], split)
    files = io_utils.all_files_pattern(split_uri)
    serialized = [record.numpy() for record in tf.data.TFRecordDataset(tf.io.gfile.glob(files),
                                                                       compression_type="GZIP")]
    if not serialized:
        raise ValueError(f"The {split} split of {examples.uri} holds no examples")
    spec = {features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64)}
    labels = tf.io.parse_example(tf.constant(serialized), spec)[features.LABEL_KEY].numpy()
    return SplitExamples(serialized=serialized, labels=labels)


def probabilities(model: types.Artifact, *splits: SplitExamples) -> List[np.ndarray]:
    """The model's probability of `humans` for every example of each split, through its `serving_default`
    signature (the SavedModel is loaded once for all of them)."""
    model_path = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
    serve = tf.saved_model.load(model_path).signatures[SIGNATURE]
    return [predict(serve, examples) for examples in splits]


def predict(serve: Any, examples: SplitExamples) -> np.ndarray:
    """`serve` (a `serving_default` signature) applied to every example, in batches."""
    outputs = [serve(tf.constant(examples.serialized[start:start + BATCH_SIZE]))[OUTPUT_KEY].numpy().reshape(-1)
               for start in range(0, len(examples.serialized), BATCH_SIZE)]
    return np.concatenate(outputs)


def correct(probability: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each thresholded prediction equals its label."""
    return (probability > THRESHOLD).astype(int) == labels


def log_loss(probability: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy."""
    clipped = np.clip(probability, EPSILON, 1.0 - EPSILON)
    return float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1.0 - clipped)))
