"""Reads a compiled package the way the KFP client does, and checks what the open-source KFP v2 server checks.

The client (kfp 2.5) loads the YAML's first document into a `PipelineSpec` and any later ones into a
`PlatformSpec`; the API server (KFP 2.x) rejects any schema version but 2.1.0, needs a DNS-style pipeline name,
and its Argo compiler fails on TFX Resolver nodes ("resolver not implemented yet"). The backend reads each
executor's Kubernetes settings (secrets as env) as kfp-kubernetes' `KubernetesExecutorConfig`.
"""
import dataclasses
from typing import Any, Dict, List, Mapping, Optional

import yaml
from google.protobuf import json_format, struct_pb2
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import names
from kubeflow.errors import PackageError

KFP_SCHEMA_VERSION = "2.1.0"
PACKAGE_SUFFIXES = (".yaml", ".yml")
KUBERNETES_PLATFORM = "kubernetes"


@dataclasses.dataclass(frozen=True)
class PipelinePackage:
    """A parsed package file: the pipeline spec and the (usually empty) platform spec."""

    path: str
    pipeline_spec: pipeline_spec_pb2.PipelineSpec
    platform_spec: pipeline_spec_pb2.PlatformSpec

    @property
    def name(self) -> str:
        return self.pipeline_spec.pipeline_info.name

    @property
    def default_pipeline_root(self) -> str:
        return self.pipeline_spec.default_pipeline_root

    def deployment_config(self) -> pipeline_spec_pb2.PipelineDeploymentConfig:
        """The executors (images, commands, resources), stored in the spec as a Struct."""
        return json_format.ParseDict(json_format.MessageToDict(self.pipeline_spec.deployment_spec),
                                     pipeline_spec_pb2.PipelineDeploymentConfig())

    def kubernetes_configs(self) -> Dict[str, Dict[str, Any]]:
        """{executor label: its Kubernetes settings as a dict}, from the platform spec (empty when it has none)."""
        platforms = self.platform_spec.platforms
        if KUBERNETES_PLATFORM not in platforms:
            return {}
        return {label: json_format.MessageToDict(config)
                for label, config in platforms[KUBERNETES_PLATFORM].deployment_spec.executors.items()}


def read_package(path: str) -> PipelinePackage:
    """Parses `path` (.yaml/.yml, as the client requires) into a PipelinePackage; PackageError when it cannot."""
    if not path.endswith(PACKAGE_SUFFIXES):
        raise PackageError(f"The package must be a .yaml or .yml file (what `gc-tfx kubeflow compile` writes), "
                           f"got {path!r}.")
    try:
        with open(path, encoding="utf-8") as stream:
            documents = [document for document in yaml.safe_load_all(stream) if document is not None]
    except OSError as error:
        raise PackageError(f"Cannot read the package {path!r}: {error.strerror}.") from error
    except yaml.YAMLError as error:
        raise PackageError(f"The package {path!r} is not valid YAML: {error}") from error
    if not documents or not all(isinstance(document, dict) for document in documents):
        raise PackageError(f"The package {path!r} holds no pipeline spec.")
    platform_spec = {}
    for document in documents[1:]:
        platform_spec.update(document)
    try:
        return PipelinePackage(
            path=path,
            pipeline_spec=json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec()),
            platform_spec=json_format.ParseDict(platform_spec, pipeline_spec_pb2.PlatformSpec()))
    except json_format.ParseError as error:
        raise PackageError(f"The package {path!r} is not a KFP pipeline spec: {error}") from error


def _resolver_executors(package: PipelinePackage) -> List[str]:
    executors = package.deployment_config().executors
    return sorted(label for label, executor in executors.items() if executor.WhichOneof("spec") == "resolver")


def check_kfp_accepts(package: PipelinePackage) -> None:
    """Raises PackageError naming the first thing open-source KFP v2 would reject in `package`."""
    spec = package.pipeline_spec
    if spec.schema_version != KFP_SCHEMA_VERSION:
        raise PackageError(
            f"{package.path!r} has PipelineSpec schema version {spec.schema_version or '(none)'!r}; open-source "
            f"Kubeflow Pipelines v2 accepts only {KFP_SCHEMA_VERSION}. Recompile with `gc-tfx kubeflow compile`.")
    if not names.is_valid_pipeline_name(package.name):
        raise PackageError(f"{package.path!r} names its pipeline {package.name!r}; Kubeflow needs "
                           f"{names.PIPELINE_NAME_RULE}.")
    if not spec.root.dag.tasks:
        raise PackageError(f"{package.path!r} has no tasks.")
    resolvers = _resolver_executors(package)
    if resolvers:
        raise PackageError(f"{package.path!r} contains TFX Resolver nodes ({', '.join(resolvers)}), which "
                           "open-source Kubeflow Pipelines v2 cannot run.")
    _check_kubernetes_configs(package)


def _check_kubernetes_configs(package: PipelinePackage) -> None:
    executors = package.deployment_config().executors
    for label, config in package.kubernetes_configs().items():
        if label not in executors:
            raise PackageError(f"{package.path!r} has Kubernetes settings for executor {label!r}, which it does "
                               "not have.")
        try:
            json_format.ParseDict(config, kubernetes_executor_config_pb2.KubernetesExecutorConfig())
        except json_format.ParseError as error:
            raise PackageError(f"{package.path!r}: the Kubernetes settings of executor {label!r} are not a "
                               f"KubernetesExecutorConfig the KFP backend can read: {error}") from error


def root_parameters(package: PipelinePackage,
                    given: Optional[Mapping[str, object]] = None) -> Dict[str, struct_pb2.Value]:
    """Every root parameter's value, the given one or the default, as the API server resolves a run's parameters."""
    given = dict(given or {})
    declared = package.pipeline_spec.root.input_definitions.parameters
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise PackageError(f"{package.path!r} has no parameter {', '.join(unknown)} (it has: "
                           f"{', '.join(sorted(declared)) or 'none'}).")
    values = {}
    for name, definition in declared.items():
        if name in given:
            values[name] = json_format.ParseDict(given[name], struct_pb2.Value())
        elif definition.HasField("default_value"):
            values[name] = definition.default_value
        elif not definition.is_optional:
            raise PackageError(f"{package.path!r}: parameter {name!r} has neither default value nor user provided "
                               f"value (the server would refuse the run); pass --parameter {name}=VALUE.")
    return values
