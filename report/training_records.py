"""Each Trainer's `training_record.json` and what follows from the pair: the rough GC time overhead and the
TensorBoard command for both runs' logs.
"""
import os
import shlex
from typing import Mapping, Optional

from trainer.training_record import TRAINING_RECORD_FILE, TrainingRecord


def load_training_record(model_run_uri: str) -> TrainingRecord:
    """Reads `training_record.json` from a Trainer's model_run artifact."""
    with open(os.path.join(model_run_uri, TRAINING_RECORD_FILE), encoding="utf-8") as record_file:
        return TrainingRecord.from_json(record_file.read())


def later_epoch_time_ratio(gc: TrainingRecord, baseline: TrainingRecord) -> Optional[float]:
    """GC's mean later-epoch seconds over the baseline's; None when either trained a single epoch.

    Rough: both Trainers ran on a shared machine at different times, with the input pipeline included.
    """
    gc_seconds, baseline_seconds = gc.later_epoch_seconds_mean, baseline.later_epoch_seconds_mean
    if gc_seconds is None or not baseline_seconds:
        return None
    return gc_seconds / baseline_seconds


def tensorboard_command(model_run_dirs: Mapping[str, str]) -> str:
    """`tensorboard --logdir_spec name:DIR,...`: both runs side by side, named as in the report."""
    spec = ",".join(f"{name}:{os.path.abspath(directory)}" for name, directory in model_run_dirs.items())
    return f"tensorboard --logdir_spec {shlex.quote(spec)}"
