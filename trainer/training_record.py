"""`training_record.json`: what one Trainer did, written by `run_fn` into its `model_run` artifact.

ModelSelection takes each model's eval-split scores from it; the report, the benchmarks and the tests read it as
this typed record. No TensorFlow here: rendering a report must not load it.
"""
from typing import Any, Dict, List, Optional

import pydantic

from results.records import Number, Record
from trainer.config import TrainerSettings

TRAINING_RECORD_FILE = "training_record.json"
# Keras' names for the eval split's metrics in `history` (the model compiles BinaryAccuracy as "accuracy").
EVAL_ACCURACY = "val_accuracy"
EVAL_LOSS = "val_loss"


class TrainingRecord(Record):
    """One Trainer's run: settings, starting point, per-epoch history and where its time went (seconds)."""

    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    FILE_NAME = TRAINING_RECORD_FILE

    settings: TrainerSettings  # in the file: the flat `custom_config` the Trainer was given
    optimizer: str  # the optimizer's name, e.g. "GC_RMSprop"
    strategy: str  # the tf.distribute strategy's class name
    replicas: int
    global_batch_size: int
    initial_weights_sha256: str  # equal within a pair: both Trainers started from the same weights
    history: Dict[str, List[Number]]  # Keras metric name (loss, accuracy, val_loss, ...) -> one value per epoch
    epoch_seconds: List[float]  # wall seconds of each epoch; the first also traces and compiles
    fit_seconds: float  # the whole fit() call: epochs plus Keras' work between them
    export_seconds: float  # the SavedModel export

    @pydantic.field_validator("settings", mode="before")
    @classmethod
    def _settings_from_custom_config(cls, value: Any) -> TrainerSettings:
        return value if isinstance(value, TrainerSettings) else TrainerSettings.from_custom_config(value)

    @pydantic.field_serializer("settings")
    def _settings_as_custom_config(self, settings: TrainerSettings) -> Dict[str, Any]:
        return settings.to_custom_config()

    @pydantic.computed_field
    @property
    def first_epoch_seconds(self) -> Optional[float]:
        return self.epoch_seconds[0] if self.epoch_seconds else None

    @pydantic.computed_field
    @property
    def later_epoch_seconds_mean(self) -> Optional[float]:
        """Mean of the epochs after the first: the steady-state cost; None with a single epoch."""
        later = self.epoch_seconds[1:]
        return sum(later) / len(later) if later else None

    def final_eval_score(self, name: str) -> Optional[float]:
        """An eval-split metric after the last epoch (the exported weights'); None when it was not a number."""
        values = self.history.get(name)
        if not values:
            raise ValueError(f"The training record has no {name!r} history (only {sorted(self.history)}); the "
                             f"Trainer needs an eval split")
        return values[-1]
