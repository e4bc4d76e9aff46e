"""What `gc-tfx kubeflow compile` builds: the image, the locations on the cluster, GPUs, and the experiment.

Defaults describe the Docker image built from this repository's Dockerfile (the code lives in IMAGE_SOURCE_ROOT).
The experiment (training, data and push settings) is pipeline.experiment's, checked there; everything that only a
cluster has is checked here. Both happen before TFX is imported, so a bad flag fails in a second with its name.
"""
import dataclasses
import re
from typing import Optional, Tuple

from kubeflow import names, uris
from kubeflow.errors import OptionError
from kubeflow.object_storage import ObjectStorage
from pipeline.experiment import ExperimentConfig

# The Dockerfile's WORKDIR: the repository's packages are copied there and installed in place (pip -e), so the
# curated schema file sits beside the code in every task container.
IMAGE_SOURCE_ROOT = "/gc-tfx"
IMAGE_SCHEMA_PATH = uris.join(IMAGE_SOURCE_ROOT, "pipeline", "schema", "schema.pbtxt")
# Beam's DirectRunner in each task, one worker process per core the pod sees (0 = all); images decode in Python.
DEFAULT_BEAM_ARGS = ("--direct_running_mode=multi_processing", "--direct_num_workers=0")
DEFAULT_PIPELINE_NAME = "gc-tfx"
SERVING_MODEL_FOLDER = "serving_model"

# NAME[:TAG][@DIGEST] after an optional registry host[:port]/path.
_IMAGE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._:/-]*?)(?::(?P<tag>\w[\w.-]{0,127}))?"
                    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def _check_image(image: str) -> str:
    match = _IMAGE.match(image)
    if not match:
        raise OptionError(f"--image must be a container image reference such as REGISTRY/gc-tfx:TAG, got {image!r}.")
    if not match.group("digest") and match.group("tag") in (None, "latest"):
        raise OptionError(
            f"--image must name a fixed tag or digest (the one you pushed), not {image!r}: with no tag or `latest` "
            "each task may pull a different image.")
    return image


def _check_positive(flag: str, value: float) -> None:
    if not value > 0:
        raise OptionError(f"{flag} must be greater than 0, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class CompileOptions:
    """Everything that differs between the local run and a Kubeflow package; see `gc-tfx kubeflow compile --help`."""

    image: str
    pipeline_root: str
    data_root: str
    experiment: ExperimentConfig = dataclasses.field(default_factory=ExperimentConfig)
    gpus: int = 0
    trainer_cpu: Optional[float] = None  # cores, a Kubernetes limit
    trainer_memory_gb: Optional[float] = None  # gigabytes (10^9 bytes), a Kubernetes limit
    schema_path: str = IMAGE_SCHEMA_PATH
    serving_model_dir: Optional[str] = None  # None: SERVING_MODEL_FOLDER below the pipeline root
    beam_pipeline_args: Tuple[str, ...] = DEFAULT_BEAM_ARGS
    pipeline_name: str = DEFAULT_PIPELINE_NAME
    enable_cache: bool = True
    object_storage: ObjectStorage = dataclasses.field(default_factory=ObjectStorage)

    def __post_init__(self) -> None:
        _check_image(self.image)
        object.__setattr__(self, "pipeline_root", uris.require_bucket_uri("--pipeline-root", self.pipeline_root))
        object.__setattr__(self, "data_root", uris.require_cluster_location("--data-root", self.data_root))
        object.__setattr__(self, "schema_path", uris.require_cluster_location("--schema-path", self.schema_path))
        if self.serving_model_dir is not None:
            object.__setattr__(self, "serving_model_dir",
                               uris.require_cluster_location("--serving-model-dir", self.serving_model_dir))
        if not names.is_valid_pipeline_name(self.pipeline_name):
            raise OptionError(f"--pipeline-name must be {names.PIPELINE_NAME_RULE} (a Kubeflow requirement), got "
                              f"{self.pipeline_name!r}.")
        if self.gpus < 0:
            raise OptionError(f"--gpus must be 0 or more, got {self.gpus}.")
        for flag, value in (("--trainer-cpu", self.trainer_cpu), ("--trainer-memory", self.trainer_memory_gb)):
            if value is not None:
                _check_positive(flag, value)
        object.__setattr__(self, "beam_pipeline_args", tuple(self.beam_pipeline_args))

    @property
    def serving_model_location(self) -> str:
        """Where the Pusher copies the selected model: the flag, or SERVING_MODEL_FOLDER below the pipeline root."""
        return self.serving_model_dir or uris.join(self.pipeline_root, SERVING_MODEL_FOLDER)
