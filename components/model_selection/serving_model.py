"""The model serving at the push destination, found and scored on this run's test split.

TF Serving serves the highest numeric version folder under its base directory, and the Pusher writes versions
there as Unix-time folder names, so the newest version is the one to beat. Folders with other names are not
versions (TF Serving ignores them too). A newest version that is not a loadable SavedModel with a working
`serving_default` (a partial copy, something else put there) is an error naming the folder: comparing with it is
impossible, and pushing past it would hide the problem.
"""
import os
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf
from absl import logging
from tfx.dsl.io import fileio

from components.model_selection import predictions
from results.selection import ServingModel
from trainer import features


class ServingModelError(ValueError):
    """The serving folder holds something that cannot be compared; the message names the folder."""


def newest_version(serving_model_dir: str) -> Optional[Tuple[str, str]]:
    """(version, folder) of the highest numeric version under `serving_model_dir`; None when there is none."""
    if not fileio.exists(serving_model_dir):
        return None
    if not fileio.isdir(serving_model_dir):
        raise ServingModelError(f"The push destination {serving_model_dir} is a file, not a folder of model "
                                "versions; nothing was pushed. Move it away or push elsewhere.")
    names = [name.rstrip("/") for name in fileio.listdir(serving_model_dir)]
    versions = [name for name in names if name.isdigit()]
    ignored = sorted(set(names) - set(versions))
    if ignored:
        logging.info("Ignoring %s in %s: not numeric model versions.", ignored, serving_model_dir)
    if not versions:
        return None
    version = max(versions, key=int)
    return version, os.path.join(serving_model_dir, version)


def score_serving_model(serving_model_dir: str, test: predictions.SplitExamples) -> Optional[ServingModel]:
    """The newest serving version's test accuracy on `test`; None when nothing serves; ServingModelError when
    the version cannot be loaded or cannot predict these examples."""
    found = newest_version(serving_model_dir)
    if found is None:
        return None
    version, folder = found
    advice = "nothing was pushed. Repair or remove that version folder and rerun."
    if not tf.saved_model.contains_saved_model(folder):
        raise ServingModelError(f"The serving model {folder} holds no SavedModel (no saved_model.pb; a partial "
                                f"copy?), so this run's model cannot be compared with it; {advice}")
    try:
        signatures = tf.saved_model.load(folder).signatures
    except Exception as error:  # TensorFlow raises many types for a damaged SavedModel
        raise ServingModelError(f"The serving model {folder} cannot be loaded ({_first_line(error)}); "
                                f"{advice}") from error
    if features.SERVING_SIGNATURE not in signatures:
        raise ServingModelError(f"The serving model {folder} has no {features.SERVING_SIGNATURE} signature (only "
                                f"{sorted(signatures)}); {advice}")
    try:
        probability = predictions.predict(signatures[features.SERVING_SIGNATURE], test)
    except Exception as error:  # the signature's inputs or outputs do not fit this pipeline's examples
        raise ServingModelError(f"The serving model {folder} cannot predict this run's test examples through "
                                f"{features.SERVING_SIGNATURE} ({_first_line(error)}); {advice}") from error
    if probability.shape != test.labels.shape:
        raise ServingModelError(f"The serving model {folder} returned {probability.size} predictions for "
                                f"{test.labels.size} test examples; {advice}")
    accuracy = float(np.mean(predictions.correct(probability, test.labels)))
    logging.info("The serving model %s scores test accuracy %.6f on this run's test split.", folder, accuracy)
    return ServingModel(path=folder, version=version, test_value=accuracy)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
