"""What a Trainer trains: the method (GC or baseline) and the settings both methods share.

The training defaults are the seed experiment's (10 epochs, batch 128 per replica, 300 px, seed 42, RMSprop 1e-4)
and stand here once, with their limits. `pipeline.experiment` composes them with the data and push settings;
`create_pipeline` hands them to each Trainer as `custom_config`, and `run_fn` reads them back with
`TrainerSettings.from_custom_config`. No TensorFlow here, so the CLI checks a flag before any heavy import.
Messages name settings by their `gc-tfx` flags, the only place users set them.
"""
import dataclasses
from typing import Any, Dict, Mapping

# The two methods, one vocabulary from the CLI to summary.json; component ids and TFMA model names derive from it.
GC = "gc"  # RMSprop with Gradient Centralization
BASELINE = "baseline"  # the same RMSprop without it
METHODS = (GC, BASELINE)

LEARNING_RATE = 1e-4  # RMSprop's, the seed experiment's
# Five 3x3 valid convolutions each followed by 2x2 pooling need at least this many pixels per side.
MIN_IMAGE_SIZE = 94


def check_method(method: str) -> str:
    """Returns `method` when it is one of METHODS."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
    return method


def _check_count(flag: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{flag} must be a whole number of at least 1, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """How every Trainer of the experiment trains; only the method differs between a GC and a baseline Trainer."""

    epochs: int = 10
    batch_size: int = 128  # per replica: the global batch scales with the GPU count
    image_size: int = 300  # side in pixels images are resized to
    seed: int = 42  # initial weights, data order and augmentation

    def __post_init__(self) -> None:
        _check_count("--epochs", self.epochs)
        _check_count("--batch-size", self.batch_size)
        _check_count("--image-size", self.image_size)
        if self.image_size < MIN_IMAGE_SIZE:
            raise ValueError(f"--image-size {self.image_size} is too small for the CNN's five conv/pool blocks; "
                             f"use at least {MIN_IMAGE_SIZE}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"--seed must be a whole number, got {self.seed!r}.")


@dataclasses.dataclass(frozen=True)
class TrainerSettings:
    """One Trainer: its method and the experiment's training settings, as its `custom_config` carries them."""

    method: str
    training: TrainingConfig

    def __post_init__(self) -> None:
        check_method(self.method)

    @property
    def use_gc(self) -> bool:
        return self.method == GC

    def to_custom_config(self) -> Dict[str, Any]:
        """A flat JSON-able dict: TFX's Kubeflow compiler serializes custom_config as JSON."""
        return {"method": self.method, **dataclasses.asdict(self.training)}

    @classmethod
    def from_custom_config(cls, custom_config: Mapping[str, Any]) -> "TrainerSettings":
        known = {"method"} | {field.name for field in dataclasses.fields(TrainingConfig)}
        unknown = sorted(set(custom_config) - known)
        if unknown or "method" not in custom_config:
            raise ValueError(f"Trainer custom_config must hold 'method' and may hold {sorted(known - {'method'})}; "
                             f"got {sorted(custom_config)}.")
        training = {key: value for key, value in custom_config.items() if key != "method"}
        return cls(method=custom_config["method"], training=TrainingConfig(**training))
