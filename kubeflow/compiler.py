"""Compiles the pipeline `gc-tfx run` executes locally into a Kubeflow Pipelines v2 package (YAML, schema 2.1.0).

Same `create_pipeline`, different runner inputs: locations on the cluster instead of this machine, the image's
schema file, no metadata connection (KFP brings its own ML Metadata), GPUs on the Trainers, and the data
fingerprint as a root parameter. TFX's runner emits neither environment nor secrets, so the object storage
settings are added to the compiled spec of every executor afterwards, whatever components the pipeline has. The
package is read back and checked the way the KFP client and server read it before compile returns.
"""
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import yaml
from absl import logging
from tfx import version as tfx_version
from tfx.orchestration import data_types
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

import pipeline as pipeline_package
from kubeflow import data_fingerprint, object_storage
from kubeflow import options as options_lib
from kubeflow import package as package_lib
from kubeflow import resources
from kubeflow import task_entrypoint
from kubeflow.errors import OptionError
from pipeline import pipeline as pipeline_lib

# ModelSelection always runs: the serving model it must beat is not among its inputs. ImageExampleGen is cached: open-
# source KFP runs no ExampleGen driver to fingerprint the data, so the fingerprint is a root parameter instead, and
# KFP's cache key holds every input parameter's value.
UNCACHED_TASKS = pipeline_lib.ALWAYS_RUN


def build_pipeline(options: options_lib.CompileOptions) -> tfx_pipeline.Pipeline:
    """The local pipeline's graph with cluster locations, and the Trainers' resources applied."""
    pipeline = pipeline_lib.create_pipeline(
        pipeline_name=options.pipeline_name,
        pipeline_root=options.pipeline_root,
        data_root=options.data_root,
        schema_path=options.schema_path,
        serving_model_dir=options.serving_model_location,
        experiment=options.experiment,
        enable_cache=options.enable_cache,
        beam_pipeline_args=list(options.beam_pipeline_args),
        metadata_connection_config=None,
        # No default: a run must say which data it reads, else the cache would serve the last run's examples.
        data_fingerprint=data_types.RuntimeParameter(name=data_fingerprint.PARAMETER, ptype=str),
    )
    resources.apply_to_trainers(
        pipeline, options.experiment,
        resources.trainer_resource_spec(options.gpus, options.trainer_cpu, options.trainer_memory_gb))
    return pipeline


def _pipeline_spec(options: options_lib.CompileOptions) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """The pipeline spec, and the platform spec (the secrets every executor reads) or None."""
    config = kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
        default_image=options.image, default_commands=task_entrypoint.COMMAND, use_pipeline_spec_2_1=True)
    job = kubeflow_v2_dag_runner.KubeflowV2DagRunner(config).run(build_pipeline(options), write_out=False)
    spec = job["pipelineSpec"]
    # TFX keeps the root only in the PipelineJob's runtime config, which a YAML package drops; KFP's UI and
    # `gc-tfx kubeflow submit` read this field instead.
    spec["defaultPipelineRoot"] = options.pipeline_root
    for task_id in UNCACHED_TASKS:
        spec["root"]["dag"]["tasks"][task_id]["cachingOptions"] = {"enableCache": False}
    # TFX writes the ExampleGen driver hook (Vertex AI runs it) with its own module; it must read s3:// as well.
    for executor in spec["deploymentSpec"]["executors"].values():
        hook = executor.get("container", {}).get("lifecycle", {}).get("preCacheCheck")
        if hook:
            hook["command"] = list(task_entrypoint.DRIVER_COMMAND)
    return spec, object_storage.wire_into(spec, options.object_storage)


def _paths_of_this_machine() -> List[str]:
    """Directories whose names must never reach the cluster: this checkout and the virtualenv."""
    paths = [os.path.dirname(os.path.dirname(os.path.abspath(pipeline_package.__file__)))]
    if sys.prefix != sys.base_prefix:
        paths.append(sys.prefix)
    return paths


def _check_nothing_local(text: str) -> None:
    for path in _paths_of_this_machine():
        if path in text:
            raise OptionError(f"The package would contain {path!r}, a path on this machine that tasks on the cluster "
                              "cannot read; pass locations inside the image or on the cluster (gs://...).")


def _header(options: options_lib.CompileOptions, spec: Dict[str, Any]) -> str:
    gpus = f"{options.gpus} {resources.GPU_RESOURCE} each" if options.gpus else "no GPUs"
    return (f"# Kubeflow Pipelines v2 package of {spec['pipelineInfo']['name']}, written by `gc-tfx kubeflow compile` "
            f"(tfx {tfx_version.__version__}).\n"
            f"# Every task runs {options.image}; the Trainers request {gpus}.\n")


def compile_package(options: options_lib.CompileOptions, output_path: str) -> package_lib.PipelinePackage:
    """Writes the package to `output_path` (.yaml/.yml) and returns it as read back; raises KubeflowError."""
    if not output_path.endswith(package_lib.PACKAGE_SUFFIXES):
        raise OptionError(f"--output must end with .yaml or .yml (the KFP client refuses other names), "
                          f"got {output_path!r}.")
    spec, platform_spec = _pipeline_spec(options)
    documents = [spec] if platform_spec is None else [spec, platform_spec]
    text = _header(options, spec) + yaml.safe_dump_all(documents, sort_keys=True)
    _check_nothing_local(text)
    output_dir = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(output_dir, exist_ok=True)
    with open(output_path, "w", encoding="utf-8") as stream:
        stream.write(text)
    package = package_lib.read_package(output_path)
    package_lib.check_kfp_accepts(package)
    logging.info("Wrote %s: %d tasks, image %s.", output_path, len(package.pipeline_spec.root.dag.tasks),
                 options.image)
    return package
