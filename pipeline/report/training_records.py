"""Each Trainer's `training_record.json` (history per epoch, seconds per epoch) and what follows from the pair:
the rough GC time overhead and the TensorBoard command for both runs' logs.
"""
import dataclasses
import json
import os
import shlex
from typing import Any, Dict, List, Mapping, Optional

from trainer.task import TRAINING_RECORD_FILE


@dataclasses.dataclass(frozen=True)
class TrainingRecord:
    """One Trainer's record; `history` maps Keras metric names (loss, accuracy, val_loss, ...) to per-epoch values."""

    model_run_uri: str
    history: Dict[str, List[float]]
    epoch_seconds: List[float]
    optimizer: str
    initial_weights_sha256: str
    config: Dict[str, Any]

    @property
    def first_epoch_seconds(self) -> Optional[float]:
        """The first epoch, which also traces and compiles the training step."""
        return self.epoch_seconds[0] if self.epoch_seconds else None

    @property
    def later_epoch_seconds_mean(self) -> Optional[float]:
        """Mean of the epochs after the first: the steady-state cost; None with a single epoch."""
        later = self.epoch_seconds[1:]
        return sum(later) / len(later) if later else None


def load_training_record(model_run_uri: str) -> TrainingRecord:
    """Reads `training_record.json` from a Trainer's model_run artifact."""
    with open(os.path.join(model_run_uri, TRAINING_RECORD_FILE), encoding="utf-8") as record_file:
        record = json.load(record_file)
    return TrainingRecord(model_run_uri=model_run_uri, history=record["history"],
                          epoch_seconds=record["epoch_seconds"], optimizer=record["optimizer"],
                          initial_weights_sha256=record["initial_weights_sha256"], config=record["config"])


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
