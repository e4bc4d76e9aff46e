"""Runs a compiled package on this machine the way Kubeflow Pipelines v2 runs it: `gc-tfx kubeflow run-local`.

Task by task in dependency order, each task's own command runs in a subprocess of this environment (the image
is not used; its /gc-tfx is this checkout). What each task receives and what is kept of its outputs follow the
open-source KFP v2 backend (kubeflow/pipelines backend/src/v2: driver, component/launcher_v2.go,
metadata/client.go), or Vertex AI with `Contract.VERTEX`:

- The driver builds the ExecutorInput: `parameterValues` only, upstream artifacts with `name` = their ML
  Metadata id as a string, `metadata` = their recorded properties plus `display_name`, and an empty
  `instanceSchema` (Vertex AI: the declared type); output artifacts at `<root>/<pipeline>/<run>/<task>/<key>`
  with the declared type; `outputs.outputFile` in the task's own scratch folder (the pod's /tmp/kfp_outputs).
- The launcher replaces `{{$}}` in the command by the ExecutorInput's JSON (plain string substitution), runs the
  command, then merges only `uri` and `metadata` of each output's first artifact from the executor output.
- Only Vertex AI runs the ExampleGen `preCacheCheck` hook, before the executor, with the same ExecutorInput.
- Resolver executors are refused, as the open-source backend refuses them; output URIs must be gs://, s3://
  or minio://.
- Each task's environment is the executor's compiled `env` under this shell's values (the shell wins). What the
  platform spec fills from a Kubernetes secret (the S3 keys) cannot be read here: it must be in the shell.

Nothing is cached: a dry run executes every task.
"""
import dataclasses
import enum
import os
import re
import subprocess
import sys
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from google.protobuf import json_format, struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import object_storage
from kubeflow import options as options_lib
from kubeflow import package as package_lib
from kubeflow import uris
from kubeflow.errors import KubeflowError, PackageError

BUCKET_SCHEMES = ("gs://", "s3://", "minio://")  # what the launcher accepts for output URIs
EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"
_OTHER_PLACEHOLDER = re.compile(r"\{\{\$[^}]*\}\}")
OUTPUT_METADATA_FOLDER = "kfp_outputs"  # the launcher's /tmp/kfp_outputs
OUTPUT_METADATA_FILE = "output_metadata.json"
LOG_FILE = "task.log"
_QUOTED_LINES = 15
_INTERPRETERS = ("python", "python3")
ArtifactType = pipeline_spec_pb2.ArtifactTypeSchema


class Contract(enum.Enum):
    """Whose backend behaviour the run reproduces."""

    OPEN_SOURCE = "open-source KFP v2"
    VERTEX = "Vertex AI Pipelines"


class TaskFailedError(KubeflowError):
    """A task exited with an error; the message names it and quotes its last lines."""


@dataclasses.dataclass(frozen=True)
class TaskRun:
    """One finished task: its seconds, its log, and its output artifacts as recorded."""

    name: str
    seconds: float
    log_path: str
    outputs: Mapping[str, pipeline_spec_pb2.RuntimeArtifact]


@dataclasses.dataclass(frozen=True)
class LocalRun:
    run_id: str
    run_root: str  # <pipeline root>/<pipeline name>/<run id>
    work_dir: str  # each task's scratch folder and log
    tasks: List[TaskRun]


@dataclasses.dataclass
class _Recorded:
    """What the metadata store keeps of an output artifact: an id, its type, uri and metadata."""

    artifact_id: int
    artifact_type: ArtifactType
    uri: str
    metadata: struct_pb2.Struct


def task_order(spec: pipeline_spec_pb2.PipelineSpec) -> List[str]:
    """The root DAG's tasks, each after the tasks it depends on (ties by name, so runs are repeatable)."""
    tasks = spec.root.dag.tasks
    needs = {name: set(task.dependent_tasks) | _producers(task) for name, task in tasks.items()}
    unknown = {name: sorted(need - set(tasks)) for name, need in needs.items() if need - set(tasks)}
    if unknown:
        raise PackageError(f"Tasks depend on tasks the package does not have: {unknown}.")
    order: List[str] = []
    while len(order) < len(tasks):
        ready = sorted(name for name, need in needs.items() if name not in order and need <= set(order))
        if not ready:
            raise PackageError(f"The tasks {sorted(set(tasks) - set(order))} depend on each other in a cycle.")
        order.append(ready[0])
    return order


def _producers(task: pipeline_spec_pb2.PipelineTaskSpec) -> set:
    producers = {spec.task_output_artifact.producer_task for spec in task.inputs.artifacts.values()
                 if spec.HasField("task_output_artifact")}
    producers |= {spec.task_output_parameter.producer_task for spec in task.inputs.parameters.values()
                  if spec.HasField("task_output_parameter")}
    return producers


class _Run:
    """One run of one package: the recorded artifacts and parameters, and the next metadata id."""

    def __init__(self, package: package_lib.PipelinePackage, pipeline_root: str, run_id: str, work_dir: str,
                 contract: Contract, parameters: Mapping[str, struct_pb2.Value], image_source_root: str,
                 environment: Mapping[str, str]):
        self.spec = package.pipeline_spec
        self.executors = package.deployment_config().executors
        self.contract = contract
        self.run_root = uris.join(pipeline_root, self.spec.pipeline_info.name, run_id)
        self.work_dir = work_dir
        self.parameters = dict(parameters)
        self.image_source_root = image_source_root
        self.environment = dict(environment)
        self.artifacts: Dict[str, Dict[str, _Recorded]] = {}
        self.output_parameters: Dict[str, Dict[str, struct_pb2.Value]] = {}
        self._next_id = 1

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _in_this_checkout(self, value: struct_pb2.Value) -> struct_pb2.Value:
        """A path inside the image's source folder becomes the same path in this checkout (the image's code)."""
        prefix = options_lib.IMAGE_SOURCE_ROOT + "/"
        if value.WhichOneof("kind") == "string_value" and value.string_value.startswith(prefix):
            return struct_pb2.Value(string_value=os.path.join(self.image_source_root,
                                                              value.string_value[len(prefix):]))
        return value

    def _parameter(self, task_name: str, key: str,
                   spec: pipeline_spec_pb2.TaskInputsSpec.InputParameterSpec) -> struct_pb2.Value:
        kind = spec.WhichOneof("kind")
        if kind == "runtime_value" and spec.runtime_value.HasField("constant"):
            return self._in_this_checkout(spec.runtime_value.constant)
        if kind == "component_input_parameter" and spec.component_input_parameter in self.parameters:
            return self.parameters[spec.component_input_parameter]
        if kind == "task_output_parameter":
            producer = spec.task_output_parameter
            produced = self.output_parameters.get(producer.producer_task, {})
            if producer.output_parameter_key in produced:
                return produced[producer.output_parameter_key]
        raise PackageError(f"Task {task_name}: cannot resolve its input parameter {key!r} ({kind}).")

    def _input_artifact(self, task_name: str, key: str, spec: pipeline_spec_pb2.TaskInputsSpec.InputArtifactSpec,
                        declared: ArtifactType) -> pipeline_spec_pb2.RuntimeArtifact:
        if not spec.HasField("task_output_artifact"):
            raise PackageError(f"Task {task_name}: input artifact {key!r} does not come from another task, which "
                               "this executor does not support.")
        source = spec.task_output_artifact
        recorded = self.artifacts.get(source.producer_task, {}).get(source.output_artifact_key)
        if recorded is None:
            raise PackageError(f"Task {task_name}: task {source.producer_task} has no output "
                               f"{source.output_artifact_key!r} for input {key!r}.")
        # metadata/client.go ToRuntimeArtifact: `Schema: "", // TODO(Bobgy): figure out how to get schema`.
        artifact_type = ArtifactType(instance_schema="") if self.contract is Contract.OPEN_SOURCE else declared
        return pipeline_spec_pb2.RuntimeArtifact(name=str(recorded.artifact_id), type=artifact_type,
                                                 uri=recorded.uri, metadata=recorded.metadata)

    def executor_input(self, task_name: str, output_file: str) -> pipeline_spec_pb2.ExecutorInput:
        """The ExecutorInput the driver hands `task_name`."""
        task = self.spec.root.dag.tasks[task_name]
        component = self.spec.components[task.component_ref.name]
        executor_input = pipeline_spec_pb2.ExecutorInput()
        for key, parameter in task.inputs.parameters.items():
            executor_input.inputs.parameter_values[key].CopyFrom(self._parameter(task_name, key, parameter))
        for key, artifact in task.inputs.artifacts.items():
            declared = component.input_definitions.artifacts[key].artifact_type
            executor_input.inputs.artifacts[key].artifacts.append(
                self._input_artifact(task_name, key, artifact, declared))
        for key, definition in component.output_definitions.artifacts.items():
            output = executor_input.outputs.artifacts[key].artifacts.add(
                type=definition.artifact_type, uri=uris.join(self.run_root, task_name, key))
            if definition.HasField("metadata"):
                output.metadata.CopyFrom(definition.metadata)
        for key in component.output_definitions.parameters:
            executor_input.outputs.parameters[key].output_file = os.path.join(os.path.dirname(output_file), key)
        executor_input.outputs.output_file = output_file
        return executor_input

    def container(self, task_name: str) -> pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec:
        component = self.spec.components[self.spec.root.dag.tasks[task_name].component_ref.name]
        if component.WhichOneof("implementation") != "executor_label":
            raise PackageError(f"Task {task_name} is a sub-DAG, which this executor does not run.")
        executor = self.executors[component.executor_label]
        kind = executor.WhichOneof("spec")
        if kind == "resolver":
            raise PackageError(f"Task {task_name}: resolver executors not implemented (open-source KFP v2 refuses "
                               "them too).")
        if kind != "container":
            raise PackageError(f"Task {task_name} has an executor of kind {kind!r}; TFX packages have container "
                               "executors only, and only those run here.")
        return executor.container

    def record(self, task_name: str, executor_input: pipeline_spec_pb2.ExecutorInput,
               executor_output: pipeline_spec_pb2.ExecutorOutput) -> Dict[str, pipeline_spec_pb2.RuntimeArtifact]:
        """Merges the executor output into the outputs (launcher_v2.go) and records them with new ids."""
        recorded = {}
        for key, artifact_list in executor_input.outputs.artifacts.items():
            artifact = pipeline_spec_pb2.RuntimeArtifact()
            artifact.CopyFrom(artifact_list.artifacts[0])
            produced = executor_output.artifacts[key].artifacts if key in executor_output.artifacts else []
            if produced:
                if produced[0].uri:
                    artifact.uri = produced[0].uri
                for field, value in produced[0].metadata.fields.items():
                    artifact.metadata.fields[field].CopyFrom(value)
            artifact.metadata.fields["display_name"].string_value = key
            recorded[key] = artifact
            self.artifacts.setdefault(task_name, {})[key] = _Recorded(
                self._new_id(), artifact.type, artifact.uri, artifact.metadata)
        self.output_parameters[task_name] = dict(executor_output.parameter_values)
        for key, output in executor_input.outputs.parameters.items():
            if key not in self.output_parameters[task_name] and os.path.exists(output.output_file):
                with open(output.output_file, encoding="utf-8") as stream:
                    self.output_parameters[task_name][key] = struct_pb2.Value(string_value=stream.read())
        return recorded


def substitute(arguments: Sequence[str], executor_input: pipeline_spec_pb2.ExecutorInput, task_name: str) -> List[str]:
    """`{{$}}` replaced by the ExecutorInput's JSON, as the launcher does; any other placeholder is refused."""
    executor_input_json = json_format.MessageToJson(executor_input)
    substituted = []
    for argument in arguments:
        argument = argument.replace(EXECUTOR_INPUT_PLACEHOLDER, executor_input_json)
        others = _OTHER_PLACEHOLDER.findall(argument.replace(executor_input_json, ""))
        if others:
            raise PackageError(f"Task {task_name} uses placeholder {others[0]}, which this executor does not "
                               "substitute (TFX packages use only {{$}}).")
        substituted.append(argument)
    return substituted


def _local_command(command: Sequence[str]) -> List[str]:
    """The task's command with its interpreter replaced by this environment's (the image's `python`)."""
    command = list(command)
    if command and command[0] in _INTERPRETERS:
        command[0] = sys.executable
    return command


def _last_lines(log_path: str) -> str:
    with open(log_path, encoding="utf-8", errors="replace") as log:
        lines = [line.rstrip() for line in log.read().splitlines() if line.strip()]
    return "\n".join(f"  {line}" for line in lines[-_QUOTED_LINES:])


def _run_command(task_name: str, what: str, command: List[str], environment: Mapping[str, str], cwd: str,
                 log_path: str) -> None:
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {what}: {' '.join(command[:3])} ...\n")
        log.flush()
        completed = subprocess.run(command, cwd=cwd, env=dict(environment), stdout=log, stderr=subprocess.STDOUT,
                                   check=False)
    if completed.returncode != 0:
        raise TaskFailedError(f"Task {task_name} failed ({what} exited with status {completed.returncode}); its "
                              f"last lines ({log_path}):\n{_last_lines(log_path)}")


def _read_executor_output(path: str, task_name: str) -> pipeline_spec_pb2.ExecutorOutput:
    if not os.path.exists(path):
        return pipeline_spec_pb2.ExecutorOutput()
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    try:
        return json_format.Parse(text, pipeline_spec_pb2.ExecutorOutput(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise TaskFailedError(f"Task {task_name} wrote an executor output KFP cannot read ({path}): {error}") \
            from error


def _run_task(run: _Run, task_name: str) -> TaskRun:
    started = time.monotonic()
    task_dir = os.path.join(run.work_dir, task_name)
    output_dir = os.path.join(task_dir, OUTPUT_METADATA_FOLDER)
    os.makedirs(output_dir, exist_ok=False)
    log_path = os.path.join(task_dir, LOG_FILE)
    output_file = os.path.join(output_dir, OUTPUT_METADATA_FILE)
    container = run.container(task_name)
    executor_input = run.executor_input(task_name, output_file)
    environment = object_storage.task_environment(container.env, run.environment)
    if run.contract is Contract.VERTEX and container.lifecycle.HasField("pre_cache_check"):
        hook = container.lifecycle.pre_cache_check
        _run_command(task_name, "the ExampleGen driver hook",
                     _local_command(substitute([*hook.command, *hook.args], executor_input, task_name)),
                     environment, task_dir, log_path)
        # Vertex AI updates the task's parameters from the driver's output before the executor starts.
        for key, value in _read_executor_output(output_file, task_name).parameter_values.items():
            executor_input.inputs.parameter_values[key].CopyFrom(value)
    command = _local_command(substitute([*container.command, *container.args], executor_input, task_name))
    _run_command(task_name, "the task's command", command, environment, task_dir, log_path)
    outputs = run.record(task_name, executor_input, _read_executor_output(output_file, task_name))
    return TaskRun(task_name, time.monotonic() - started, log_path, outputs)


def _check_root(pipeline_root: str) -> str:
    if not pipeline_root.startswith(BUCKET_SCHEMES):
        raise PackageError(f"--pipeline-root must start with {', '.join(BUCKET_SCHEMES)} (the only output URIs the "
                           f"KFP v2 launcher accepts), got {pipeline_root!r}.")
    return pipeline_root.rstrip("/")


def run_package(package_path: str, pipeline_root: str, *, work_dir: str, run_id: str,
                contract: Contract = Contract.OPEN_SOURCE, parameters: Optional[Mapping[str, object]] = None,
                image_source_root: Optional[str] = None, environment: Optional[Mapping[str, str]] = None,
                on_task_start: Callable[[int, int, str], None] = lambda index, total, name: None,
                on_task_end: Callable[[TaskRun], None] = lambda task: None) -> LocalRun:
    """Runs every task of the package at `package_path`; raises TaskFailedError at the first that fails."""
    package = package_lib.read_package(package_path)
    package_lib.check_kfp_accepts(package)
    root = _check_root(pipeline_root)
    if os.path.exists(work_dir) and os.listdir(work_dir):
        raise PackageError(f"The work folder {work_dir!r} is not empty; each run needs a fresh one.")
    os.makedirs(work_dir, exist_ok=True)
    run = _Run(package, root, run_id, work_dir, contract, package_lib.root_parameters(package, parameters),
               image_source_root or _this_checkout(), os.environ if environment is None else environment)
    order = task_order(package.pipeline_spec)
    for name in order:
        run.container(name)  # a resolver or sub-DAG fails the run before any task starts
    _check_secret_variables(package, run.environment)
    finished = []
    for index, name in enumerate(order, start=1):
        on_task_start(index, len(order), name)
        finished.append(_run_task(run, name))
        on_task_end(finished[-1])
    return LocalRun(run_id=run_id, run_root=run.run_root, work_dir=work_dir, tasks=finished)


def _check_secret_variables(package: package_lib.PipelinePackage, environment: Mapping[str, str]) -> None:
    """Raises PackageError unless this shell sets every variable the package fills from a secret."""
    missing: Dict[str, set] = {}
    for config in package.kubernetes_configs().values():
        for secret, variables in object_storage.secret_variables(config).items():
            missing.setdefault(secret, set()).update(name for name in variables if not environment.get(name))
    missing = {secret: names for secret, names in missing.items() if names}
    if missing:
        described = "; ".join(f"{', '.join(sorted(names))} from secret {secret!r}" for secret, names in
                              sorted(missing.items()))
        raise PackageError(f"The package gives its tasks {described}, which a run on this machine cannot read: "
                           "export them in this shell (the values of that secret's keys) and run again.")


def _this_checkout() -> str:
    """The folder the image's IMAGE_SOURCE_ROOT holds: this installation's source tree."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


PUSHED_MODEL_KEY = "pushed_model"  # the Pusher's output (tfx standard_component_specs.PUSHED_MODEL_KEY)


def pushed_location(run: LocalRun) -> Optional[str]:
    """Where the Pusher copied the model in this run, or None when it pushed nothing (or there is no Pusher)."""
    for task in run.tasks:
        artifact = task.outputs.get(PUSHED_MODEL_KEY)
        if artifact is not None and artifact.metadata.fields["pushed"].number_value == 1:
            return artifact.metadata.fields["pushed_destination"].string_value
    return None
