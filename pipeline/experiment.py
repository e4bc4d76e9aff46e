"""The experiment, in one typed config: every default, limit and check of what `gc-tfx run` and
`gc-tfx kubeflow compile` build, read by both, by `create_pipeline` and (through `custom_config`) by the Trainers.

Light on purpose (no TFX, no TensorFlow): the CLI builds it from flags and rejects a bad one in milliseconds.
"""
import dataclasses
import math
from typing import Any, Dict

from components.image_example_gen.layout import DEFAULT_EVAL_PERCENT, validate_eval_percent
from trainer.config import METHODS, TrainerSettings, TrainingConfig


def trainer_id(method: str) -> str:
    """The Trainer component's id for a method, e.g. "trainer_gc"."""
    return f"trainer_{method}"


TRAINER_IDS = tuple(trainer_id(method) for method in METHODS)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """How both models are trained, which data validates them, and when the winner may be pushed."""

    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    eval_percent: int = DEFAULT_EVAL_PERCENT  # share of train/ held out (by file-name hash) for validation
    quality_floor: float = 0.5  # minimum test binary accuracy the selected model needs to be pushed

    def __post_init__(self) -> None:
        validate_eval_percent(self.eval_percent, "--eval-percent")
        if isinstance(self.quality_floor, bool) or not isinstance(self.quality_floor, (int, float)) or (
                math.isnan(self.quality_floor) or not 0.0 <= self.quality_floor < math.inf):
            raise ValueError(f"--quality-floor must be a number >= 0 (above 1 nothing is ever pushed), got "
                             f"{self.quality_floor!r}.")

    def trainer_custom_config(self, method: str) -> Dict[str, Any]:
        """The `custom_config` of `method`'s Trainer; `run_fn` reads it back with TrainerSettings."""
        return TrainerSettings(method=method, training=self.training).to_custom_config()
