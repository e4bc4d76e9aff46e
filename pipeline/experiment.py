"""The experiment, in one typed config: every default, limit and check of what `gc-tfx run` and
`gc-tfx kubeflow compile` build, read by both, by `create_pipeline` and (through `custom_config`) by the Trainers.

Light on purpose (no TFX, no TensorFlow): the CLI builds it from flags and rejects a bad one in milliseconds.
"""
import dataclasses
import math
from typing import Any, Dict, List

from components.image_example_gen.layout import DEFAULT_EVAL_PERCENT, validate_eval_percent
from trainer.config import METHODS, TrainerSettings, TrainingConfig


MAX_SEEDS = 64  # a study this size already runs 128 Trainers

# Every node's id, declared once: the pipeline sets them, the runners, the report lookup and the tests read them.
EXAMPLE_GEN_ID = "ImageExampleGen"
STATISTICS_GEN_ID = "StatisticsGen"
SCHEMA_GEN_ID = "ImportSchemaGen"
EXAMPLE_VALIDATOR_ID = "ExampleValidator"
VALIDATION_GATE_ID = "DataValidationGate"
TRANSFORM_ID = "Transform"
MODEL_SELECTION_ID = "ModelSelection"
PUSHER_ID = "Pusher"
REVIEW_ID = "Review"


def trainer_id(method: str, seed: int) -> str:
    """The Trainer component's id for a method and seed, e.g. "trainer_gc_seed42"."""
    return f"trainer_{method}_seed{seed}"


def evaluator_id(seed: int) -> str:
    """The id of the Evaluator that compares one seed's pair, e.g. "evaluator_seed42"."""
    return f"evaluator_seed{seed}"


def is_trainer_id(component_id: str) -> bool:
    return any(component_id.startswith(f"trainer_{method}_seed") for method in METHODS)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """How both models are trained, which data validates them, and when the winner may be pushed."""

    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    eval_percent: int = DEFAULT_EVAL_PERCENT  # share of train/ held out (by file-name hash) for validation
    quality_floor: float = 0.5  # minimum test binary accuracy the selected model needs to be pushed
    seed_count: int = 1  # pairs of Trainers, seeds training.seed, training.seed + 1, ...
    force_push: bool = False  # push the chosen model even when the serving one scores as high (the floor holds)

    def __post_init__(self) -> None:
        validate_eval_percent(self.eval_percent, "--eval-percent")
        if isinstance(self.seed_count, bool) or not isinstance(self.seed_count, int) or not (
                1 <= self.seed_count <= MAX_SEEDS):
            raise ValueError(f"--seeds must be a whole number from 1 to {MAX_SEEDS}, got {self.seed_count!r}.")
        if isinstance(self.quality_floor, bool) or not isinstance(self.quality_floor, (int, float)) or (
                math.isnan(self.quality_floor) or not 0.0 <= self.quality_floor < math.inf):
            raise ValueError(f"--quality-floor must be a number >= 0 (above 1 nothing is ever pushed), got "
                             f"{self.quality_floor!r}.")
        if not isinstance(self.force_push, bool):
            raise ValueError(f"force_push must be True or False, got {self.force_push!r}.")

    @property
    def seeds(self) -> List[int]:
        """One per pair: within a pair both Trainers share it (weights, data order), across pairs they differ."""
        return [self.training.seed + offset for offset in range(self.seed_count)]

    def trainer_custom_config(self, method: str, seed: int) -> Dict[str, Any]:
        """The `custom_config` of `method`'s Trainer for `seed`; `run_fn` reads it back with TrainerSettings."""
        training = dataclasses.replace(self.training, seed=seed)
        return TrainerSettings(method=method, training=training).to_custom_config()
