"""Kubernetes resources for the Trainers (two per seed): GPUs, CPU and memory limits. Other tasks keep the
cluster defaults.

TFX's Kubeflow V2 compiler copies a component's `platform_config`, when it is this ResourceSpec proto, into the
task's container spec; the KFP backend turns `accelerator` into a `limits: {TYPE: COUNT}` entry on the pod and
`cpuLimit`/`memoryLimit` into CPU and memory limits (memory in gigabytes).
"""
from typing import Optional

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration import pipeline as tfx_pipeline

from pipeline.experiment import ExperimentConfig, trainer_id
from trainer.config import METHODS

ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec
GPU_RESOURCE = "nvidia.com/gpu"


def trainer_resource_spec(gpus: int, cpu_limit: Optional[float] = None,
                          memory_limit_gb: Optional[float] = None) -> Optional[ResourceSpec]:
    """The ResourceSpec a Trainer needs, or None when it asks for nothing beyond the cluster's defaults."""
    if not gpus and cpu_limit is None and memory_limit_gb is None:
        return None
    spec = ResourceSpec()
    if gpus:
        spec.accelerator.type = GPU_RESOURCE
        spec.accelerator.count = gpus
    if cpu_limit is not None:
        spec.cpu_limit = cpu_limit
    if memory_limit_gb is not None:
        spec.memory_limit = memory_limit_gb
    return spec


def apply_to_trainers(pipeline: tfx_pipeline.Pipeline, experiment: ExperimentConfig,
                      spec: Optional[ResourceSpec]) -> None:
    """Gives every Trainer `spec` (the same for all: the comparison must be fair); no-op when `spec` is None."""
    expected = sorted(trainer_id(method, seed) for seed in experiment.seeds for method in METHODS)
    trainers = [component for component in pipeline.components if component.id in expected]
    if sorted(trainer.id for trainer in trainers) != expected:
        raise LookupError(f"create_pipeline no longer has Trainers with ids {expected}; found "
                          f"{sorted(component.id for component in pipeline.components)}.")
    if spec is None:
        return
    for trainer in trainers:
        resources = ResourceSpec()
        resources.CopyFrom(spec)
        trainer.with_platform_config(resources)
