"""The command every compiled task starts with: TFX 1.16's container entrypoint, made to run on open-source KFP v2.

`gc-tfx kubeflow compile` sets it through `KubeflowV2DagRunnerConfig(default_commands=...)` (the ExampleGen driver
hook too, with --example-gen-driver), so each task runs `python -m kubeflow.task_entrypoint ARGS` where TFX's
package had `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ARGS`. Before handing
over to TFX's module it mends what the open-source backend does differently from Vertex AI:

- Its driver sends every upstream artifact with an empty `instanceSchema`, which TFX parses with
  `yaml.safe_load("")` and then `.get(...)` (AttributeError, tensorflow/tfx#7768). The task's own
  `--json_serialized_inputs_spec_args` declares each input's type; an input without one gets it back.
- Kubeflow's artifact store is MinIO, an S3 server; TensorFlow opens `s3://` only once `tensorflow_io` is
  imported, in this process and (through Beam's `--beam_plugin`) in every Beam worker process.
- tensorflow_io's filesystem aborts the interpreter at exit ("pure virtual method called"), which would turn a
  finished task into a failed one; the process ends itself once TFX has written the executor output.

Light on purpose: protobuf and kfp's spec only, so TFX's own import errors stay TFX's.
"""
import importlib
import logging
import os
import sys
import traceback
from typing import List, Optional, Sequence, Tuple

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

MODULE = "kubeflow.task_entrypoint"
EXECUTOR_MODULE = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
DRIVER_MODULE = "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"
DRIVER_FLAG = "--example-gen-driver"
INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"
S3_MODULE = "tensorflow_io"
BEAM_PLUGIN_FLAG = "--beam_plugin"

# What a compiled package runs, for the executor and for the ExampleGen driver hook.
COMMAND = ["python", "-m", MODULE]
DRIVER_COMMAND = [*COMMAND, DRIVER_FLAG]


def _flag_position(arguments: Sequence[str], flag: str) -> Optional[Tuple[int, bool]]:
    """(index, inline) of `flag`'s value: inline when written --flag=VALUE, else the next argument."""
    for index, argument in enumerate(arguments):
        if argument == flag and index + 1 < len(arguments):
            return index + 1, False
        if argument.startswith(flag + "="):
            return index, True
    return None


def _flag_value(arguments: Sequence[str], flag: str) -> Optional[str]:
    position = _flag_position(arguments, flag)
    if position is None:
        return None
    index, inline = position
    return arguments[index][len(flag) + 1:] if inline else arguments[index]


def _with_flag_value(arguments: Sequence[str], flag: str, value: str) -> List[str]:
    index, inline = _flag_position(arguments, flag)
    changed = list(arguments)
    changed[index] = f"{flag}={value}" if inline else value
    return changed


def _has_type(artifact_type: pipeline_spec_pb2.ArtifactTypeSchema) -> bool:
    kind = artifact_type.WhichOneof("kind")
    return bool(kind and getattr(artifact_type, kind))


def restore_input_types(executor_input: pipeline_spec_pb2.ExecutorInput,
                        inputs_spec: pipeline_spec_pb2.ComponentInputsSpec) -> List[str]:
    """Gives each input artifact that arrived without a type the type the component declares; returns their keys."""
    restored = []
    for key, artifact_list in executor_input.inputs.artifacts.items():
        if key not in inputs_spec.artifacts:
            continue
        declared = inputs_spec.artifacts[key].artifact_type
        for artifact in artifact_list.artifacts:
            if not _has_type(artifact.type):
                artifact.type.CopyFrom(declared)
                restored.append(key)
    return sorted(set(restored))


def mend_arguments(arguments: Sequence[str]) -> Tuple[List[str], List[str]]:
    """The task's arguments with every untyped input artifact typed again, and the keys that were mended."""
    invocation, inputs_spec_json = _flag_value(arguments, INVOCATION_FLAG), _flag_value(arguments, INPUTS_SPEC_FLAG)
    if invocation is None or not inputs_spec_json:
        return list(arguments), []
    executor_input = json_format.Parse(invocation, pipeline_spec_pb2.ExecutorInput(), ignore_unknown_fields=True)
    inputs_spec = json_format.Parse(inputs_spec_json, pipeline_spec_pb2.ComponentInputsSpec(),
                                    ignore_unknown_fields=True)
    restored = restore_input_types(executor_input, inputs_spec)
    if not restored:
        return list(arguments), []
    return _with_flag_value(arguments, INVOCATION_FLAG, json_format.MessageToJson(executor_input)), restored


def _enable_s3(arguments: List[str]) -> List[str]:
    """Imports tensorflow_io when installed (TensorFlow's s3://) and asks Beam to import it in its workers."""
    try:
        importlib.import_module(S3_MODULE)
    except ImportError:
        logging.warning("%s is not installed: s3:// locations cannot be opened by this task.", S3_MODULE)
        return arguments
    if any(argument.startswith(BEAM_PLUGIN_FLAG) for argument in arguments):
        return arguments
    return [*arguments, f"{BEAM_PLUGIN_FLAG}={S3_MODULE}"]


def _end(code: int) -> None:
    """Ends the process without interpreter teardown (tensorflow_io aborts there); output flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)  # pylint: disable=protected-access


def main(argv: Optional[Sequence[str]] = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    module_name = EXECUTOR_MODULE
    if arguments[:1] == [DRIVER_FLAG]:
        module_name, arguments = DRIVER_MODULE, arguments[1:]
    arguments, restored = mend_arguments(arguments)
    arguments = _enable_s3(arguments)
    from absl import app  # pylint: disable=import-outside-toplevel
    from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel

    absl_logging.set_verbosity(absl_logging.INFO)  # as TFX's entrypoint sets it
    if restored:
        absl_logging.info("Input artifacts without a type (open-source KFP sends none), typed from the "
                          "component's inputs spec: %s", ", ".join(restored))
    module = importlib.import_module(module_name)
    try:
        # TFX's own flag parser (argparse plus absl's flags) and main, as `python -m MODULE` would run them.
        app.run(module.main, argv=[module_name, *arguments],
                flags_parser=module._parse_flags)  # pylint: disable=protected-access
    except SystemExit as finished:
        code = finished.code if isinstance(finished.code, int) else (0 if finished.code is None else 1)
        _end(code)
    except BaseException:  # pylint: disable=broad-except
        traceback.print_exc()
        _end(1)
    _end(0)


if __name__ == "__main__":
    main()
