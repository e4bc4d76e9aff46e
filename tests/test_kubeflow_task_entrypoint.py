"""`kubeflow.task_entrypoint`: what it mends in a task's arguments before TFX's entrypoint reads them.

That TFX then runs, on s3://, in every task of the real package, is test_kubeflow_run_local.py's business.
"""
import json

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import task_entrypoint

EXAMPLES = "title: tfx.Examples\ntype: object\n"
SCHEMA = "title: tfx.Schema\ntype: object\n"
INPUTS_SPEC = json.dumps({"artifacts": {"examples": {"artifactType": {"instanceSchema": EXAMPLES}},
                                        "schema": {"artifactType": {"instanceSchema": SCHEMA}}},
                          "parameters": {"exclude_splits": {"parameterType": "STRING"}}})


def invocation(examples_type, schema_type) -> str:
    """An ExecutorInput as open-source KFP's driver sends it (`instanceSchema: ""`) or as Vertex AI does."""
    return json.dumps({"inputs": {
        "artifacts": {"examples": {"artifacts": [{"name": "12", "type": examples_type, "uri": "s3://b/examples",
                                                  "metadata": {"span": 0.0, "display_name": "examples"}}]},
                      "schema": {"artifacts": [{"name": "13", "type": schema_type, "uri": "s3://b/schema"}]}},
        "parameterValues": {"exclude_splits": "[]"}},
        "outputs": {"outputFile": "/tmp/kfp_outputs/output_metadata.json"}})


def arguments(invocation_json: str, inline: bool = False):
    head = ["--executor_class_path", "tfx.components.statistics_gen.executor.Executor"]
    if inline:
        return [*head, f"--json_serialized_invocation_args={invocation_json}",
                f"--json_serialized_inputs_spec_args={INPUTS_SPEC}", "--direct_num_workers=0"]
    return [*head, "--json_serialized_invocation_args", invocation_json, "--json_serialized_inputs_spec_args",
            INPUTS_SPEC, "--direct_num_workers=0"]


def parsed(argument: str) -> pipeline_spec_pb2.ExecutorInput:
    return json_format.Parse(argument.split("=", 1)[1] if argument.startswith("--") else argument,
                             pipeline_spec_pb2.ExecutorInput())


def test_untyped_inputs_get_the_declared_type_and_nothing_else_changes():
    original = arguments(invocation({"instanceSchema": ""}, {"instanceSchema": ""}))
    mended, restored = task_entrypoint.mend_arguments(original)

    assert restored == ["examples", "schema"]
    assert [argument for index, argument in enumerate(mended) if index != 3] == [
        argument for index, argument in enumerate(original) if index != 3]
    executor_input = parsed(mended[3])
    assert executor_input.inputs.artifacts["examples"].artifacts[0].type.instance_schema == EXAMPLES
    assert executor_input.inputs.artifacts["schema"].artifacts[0].type.instance_schema == SCHEMA
    examples = executor_input.inputs.artifacts["examples"].artifacts[0]
    assert (examples.name, examples.uri, examples.metadata["display_name"]) == ("12", "s3://b/examples", "examples")
    assert executor_input.inputs.parameter_values["exclude_splits"].string_value == "[]"


def test_the_flag_written_with_an_equals_sign_is_mended_in_place():
    mended, restored = task_entrypoint.mend_arguments(
        arguments(invocation({"instanceSchema": ""}, {}), inline=True))

    assert restored == ["examples", "schema"]
    assert mended[2].startswith("--json_serialized_invocation_args=")
    assert parsed(mended[2]).inputs.artifacts["schema"].artifacts[0].type.instance_schema == SCHEMA


def test_typed_inputs_as_vertex_ai_sends_them_are_left_alone():
    original = arguments(invocation({"schemaTitle": "tfx.Examples"}, {"instanceSchema": SCHEMA}))
    assert task_entrypoint.mend_arguments(original) == (original, [])


def test_a_task_without_inputs_spec_is_left_alone():
    original = ["--executor_class_path", "x.Executor", "--json_serialized_invocation_args",
                invocation({"instanceSchema": ""}, {"instanceSchema": ""})]
    assert task_entrypoint.mend_arguments(original) == (original, [])
