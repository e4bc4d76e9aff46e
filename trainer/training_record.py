"""`training_record.json`: what one Trainer did, written by `run_fn` into its `model_run` artifact.

The report, the benchmarks and the tests read it through `TrainingRecord.from_json`, never by indexing a dict.
No TensorFlow here: rendering a report must not load it.
"""
import dataclasses
import json
from typing import Any, Dict, List, Optional

from trainer.config import TrainerSettings

TRAINING_RECORD_FILE = "training_record.json"


@dataclasses.dataclass(frozen=True)
class TrainingRecord:
    """One Trainer's run: settings, starting point, per-epoch history and where its time went (seconds)."""

    settings: TrainerSettings
    optimizer: str  # the optimizer's name, e.g. "GC_RMSprop"
    strategy: str  # the tf.distribute strategy's class name
    replicas: int
    global_batch_size: int
    initial_weights_sha256: str  # equal within a pair: both Trainers started from the same weights
    history: Dict[str, List[float]]  # Keras metric name (loss, accuracy, val_loss, ...) -> one value per epoch
    epoch_seconds: List[float]  # wall seconds of each epoch; the first also traces and compiles
    fit_seconds: float  # the whole fit() call: epochs plus Keras' work between them
    export_seconds: float  # the SavedModel export

    @property
    def first_epoch_seconds(self) -> Optional[float]:
        return self.epoch_seconds[0] if self.epoch_seconds else None

    @property
    def later_epoch_seconds_mean(self) -> Optional[float]:
        """Mean of the epochs after the first: the steady-state cost; None with a single epoch."""
        later = self.epoch_seconds[1:]
        return sum(later) / len(later) if later else None

    def to_json(self) -> str:
        """The record, with the derived first/later epoch seconds spelled out for people who open the file."""
        document: Dict[str, Any] = dataclasses.asdict(self)
        document["settings"] = self.settings.to_custom_config()
        document["first_epoch_seconds"] = self.first_epoch_seconds
        document["later_epoch_seconds_mean"] = self.later_epoch_seconds_mean
        return json.dumps(document, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainingRecord":
        document = json.loads(text)
        fields = {field.name for field in dataclasses.fields(cls)}
        values = {name: value for name, value in document.items() if name in fields}
        missing = sorted(fields - set(values))
        if missing:
            raise ValueError(f"{TRAINING_RECORD_FILE} lacks {', '.join(missing)}: written by another version?")
        values["settings"] = TrainerSettings.from_custom_config(values["settings"])
        return cls(**values)

