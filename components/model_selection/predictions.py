"""Per-example predictions of exported models on the test split of an Examples artifact.

McNemar's test needs to know, example by example, which model was right, and the serving model needs a score on
this run's test split; TFMA reports only aggregates of the run's own models. Every model reads the same examples
in the same order through the signature the Evaluator uses.
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


def probabilities(model: types.Artifact, examples: SplitExamples) -> np.ndarray:
    """The model's probability of `humans` for every example, through its serving signature."""
    model_path = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
    return predict(tf.saved_model.load(model_path).signatures[features.SERVING_SIGNATURE], examples)


def predict(serve: Any, examples: SplitExamples) -> np.ndarray:
    """`serve` (a serving signature) applied to every example, in batches."""
    outputs = [serve(tf.constant(examples.serialized[start:start + BATCH_SIZE]))[OUTPUT_KEY].numpy().reshape(-1)
               for start in range(0, len(examples.serialized), BATCH_SIZE)]
    return np.concatenate(outputs)


def correct(probability: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each thresholded prediction equals its label."""
    return (probability > features.DECISION_THRESHOLD).astype(int) == labels
