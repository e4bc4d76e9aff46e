"""`kubeflow.local_executor`: the open-source KFP v2 (and Vertex AI) contract, on tasks small enough to read.

Each task here is a few lines of Python that save the ExecutorInput they were handed (so the test reads exactly
what the driver built) and write an executor output, as a TFX task does. The real package, run end to end against
a local S3 server, is in test_kubeflow_run_local.py.
"""
import json
import os
import re
import sys

import pytest
import yaml

from cli import main as cli
from kubeflow import local_executor, options
from kubeflow.errors import PackageError

ROOT = "s3://bucket/root"
RUN_ID = "run-7"
EXAMPLES_SCHEMA = "title: tfx.Examples\ntype: object\n"
# Saves its ExecutorInput beside it, then fails or writes an executor output: each output's uri + "/written",
# metadata rows=3 (what TFX's entrypoint writes after Do()).
TASK = """
import json, os, sys
executor_input = json.loads(sys.argv[1])
with open("executor_input.json", "w") as saved:
    json.dump(executor_input, saved)
with open("environment.json", "w") as saved:
    json.dump(dict(os.environ), saved)
if sys.argv[2] == "fail":
    print("loading the examples", file=sys.stderr)
    print("ValueError: probe failure in the task", file=sys.stderr)
    sys.exit(3)
outputs = executor_input["outputs"]
produced = {key: {"artifacts": [{"uri": artifacts["artifacts"][0]["uri"] + "/written", "metadata": {"rows": 3}}]}
            for key, artifacts in outputs.get("artifacts", {}).items()}
os.makedirs(os.path.dirname(outputs["outputFile"]), exist_ok=True)
with open(outputs["outputFile"], "w") as output:
    json.dump({"artifacts": produced}, output)
"""
# The ExampleGen driver hook's stand-in: leaves a mark and adds a parameter, as TFX's driver adds span etc.
DRIVER = """
import json, os, sys
outputs = json.loads(sys.argv[1])["outputs"]
open("driver_ran", "w").close()
os.makedirs(os.path.dirname(outputs["outputFile"]), exist_ok=True)
with open(outputs["outputFile"], "w") as output:
    json.dump({"parameterValues": {"span": 7}}, output)
"""


def container(behaviour: str = "ok", driver: bool = False):
    spec = {"image": "registry.example/gc-tfx:1", "command": ["python", "-c", TASK],
            "args": ["{{$}}", behaviour]}
    if driver:
        spec["lifecycle"] = {"preCacheCheck": {"command": ["python", "-c", DRIVER], "args": ["{{$}}"]}}
    return {"container": spec}


def write_package(path, *, consumer=None, producer=None, root_parameters=None, extra_task_parameters=None,
                  platform=None):
    """Two tasks named against their order (the consumer sorts first): z_producer makes `examples`, a_consumer
    reads it, a root parameter and a path inside the image; `platform`: a second YAML document."""
    typed = {"artifactType": {"instanceSchema": EXAMPLES_SCHEMA}}
    consumer_parameters = {"limit": {"componentInputParameter": "limit"},
                           "schema_file": {"runtimeValue": {"constant": "/gc-tfx/pipeline/schema/schema.pbtxt"}},
                           **(extra_task_parameters or {})}
    spec = {
        "pipelineInfo": {"name": "gc-tfx"},
        "schemaVersion": "2.1.0",
        "defaultPipelineRoot": "gs://compiled/root",
        "components": {
            "Producer": {"executorLabel": "Producer_executor", "outputDefinitions": {"artifacts": {"examples": typed}}},
            "Consumer": {"executorLabel": "Consumer_executor",
                         "inputDefinitions": {"artifacts": {"examples": typed},
                                              "parameters": {"limit": {"parameterType": "NUMBER_INTEGER"},
                                                             "schema_file": {"parameterType": "STRING"}}},
                         "outputDefinitions": {"artifacts": {"statistics": typed}}},
        },
        "deploymentSpec": {"executors": {"Producer_executor": producer or container(driver=True),
                                         "Consumer_executor": consumer or container()}},
        "root": {
            "inputDefinitions": {"parameters": root_parameters or {
                "limit": {"parameterType": "NUMBER_INTEGER", "defaultValue": 5}}},
            "dag": {"tasks": {
                "z_producer": {"taskInfo": {"name": "z_producer"}, "componentRef": {"name": "Producer"}},
                "a_consumer": {"taskInfo": {"name": "a_consumer"}, "componentRef": {"name": "Consumer"},
                               "dependentTasks": ["z_producer"],
                               "inputs": {"artifacts": {"examples": {"taskOutputArtifact": {
                                   "producerTask": "z_producer", "outputArtifactKey": "examples"}}},
                                          "parameters": consumer_parameters}},
            }}},
    }
    path.write_text(yaml.safe_dump_all([spec] + ([platform] if platform else [])))
    return str(path)


def run(tmp_path, package, **kwargs):
    return local_executor.run_package(package, ROOT, work_dir=str(tmp_path / "work"), run_id=RUN_ID,
                                      image_source_root="/checkout", **kwargs)


def saved_input(tmp_path, task: str, name: str = "executor_input.json"):
    with open(tmp_path / "work" / task / name, encoding="utf-8") as saved:
        return json.load(saved)


COMPILED_ENV = [{"name": "S3_ENDPOINT", "value": "http://minio-service.kubeflow:9000"},
                {"name": "AWS_REGION", "value": "us-east-1"}]
SECRET_DOCUMENT = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {"Consumer_executor": {
    "secretAsEnv": [{"secretName": "mlpipeline-minio-artifact", "keyToEnv": [
        {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"},
        {"secretKey": "secretkey", "envVar": "AWS_SECRET_ACCESS_KEY"}]}]}}}}}}


def test_tasks_see_the_compiled_env_under_the_shells_values(tmp_path):
    consumer = container()
    consumer["container"]["env"] = COMPILED_ENV
    package = write_package(tmp_path / "p.yaml", consumer=consumer, platform=SECRET_DOCUMENT)
    shell = {"PATH": os.environ["PATH"], "S3_ENDPOINT": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "minio",
             "AWS_SECRET_ACCESS_KEY": "minio123"}

    run(tmp_path, package, environment=shell)

    seen = saved_input(tmp_path, "a_consumer", "environment.json")
    assert (seen["S3_ENDPOINT"], seen["AWS_REGION"]) == ("http://127.0.0.1:9000", "us-east-1")  # the shell wins
    assert (seen["AWS_ACCESS_KEY_ID"], seen["AWS_SECRET_ACCESS_KEY"]) == ("minio", "minio123")
    assert "AWS_REGION" not in saved_input(tmp_path, "z_producer", "environment.json")  # each executor its own


def test_keys_the_cluster_takes_from_a_secret_must_come_from_the_shell(tmp_path):
    package = write_package(tmp_path / "p.yaml", platform=SECRET_DOCUMENT)

    with pytest.raises(PackageError) as refused:
        run(tmp_path, package, environment={"PATH": os.environ["PATH"], "AWS_ACCESS_KEY_ID": "minio"})

    assert str(refused.value) == (
        "The package gives its tasks AWS_SECRET_ACCESS_KEY from secret 'mlpipeline-minio-artifact', which a run "
        "on this machine cannot read: export them in this shell (the values of that secret's keys) and run again.")
    assert not (tmp_path / "work" / "z_producer").exists()


def test_tasks_run_in_dependency_order_each_with_its_own_output_file(tmp_path):
    started = []
    result = run(tmp_path, write_package(tmp_path / "p.yaml"),
                 on_task_start=lambda index, total, name: started.append((index, total, name)))

    assert started == [(1, 2, "z_producer"), (2, 2, "a_consumer")]
    assert [task.name for task in result.tasks] == ["z_producer", "a_consumer"]
    assert result.run_root == f"{ROOT}/gc-tfx/{RUN_ID}"
    for task in ("z_producer", "a_consumer"):
        output_file = saved_input(tmp_path, task)["outputs"]["outputFile"]
        assert output_file == str(tmp_path / "work" / task / "kfp_outputs" / "output_metadata.json")


def test_open_source_contract_upstream_artifacts_carry_id_metadata_and_an_empty_schema(tmp_path):
    run(tmp_path, write_package(tmp_path / "p.yaml"))

    producer_outputs = saved_input(tmp_path, "z_producer")["outputs"]["artifacts"]
    assert producer_outputs["examples"]["artifacts"][0] == {
        "type": {"instanceSchema": EXAMPLES_SCHEMA}, "uri": f"{ROOT}/gc-tfx/{RUN_ID}/z_producer/examples"}
    consumer_inputs = saved_input(tmp_path, "a_consumer")["inputs"]
    # The launcher merged the executor output's uri and metadata; the driver adds display_name and an empty type.
    assert consumer_inputs["artifacts"]["examples"]["artifacts"] == [{
        "name": "1", "type": {"instanceSchema": ""}, "uri": f"{ROOT}/gc-tfx/{RUN_ID}/z_producer/examples/written",
        "metadata": {"rows": 3.0, "display_name": "examples"}}]
    assert set(consumer_inputs) == {"artifacts", "parameterValues"}  # no legacy `parameters`
    assert consumer_inputs["parameterValues"] == {"limit": 5.0, "schema_file": "/checkout/pipeline/schema/schema.pbtxt"}


def test_open_source_kfp_never_runs_the_example_gen_driver_hook(tmp_path):
    run(tmp_path, write_package(tmp_path / "p.yaml"))

    assert not (tmp_path / "work" / "z_producer" / "driver_ran").exists()


def test_vertex_contract_types_the_inputs_and_runs_the_driver_hook_first(tmp_path):
    run(tmp_path, write_package(tmp_path / "p.yaml"), contract=local_executor.Contract.VERTEX)

    assert (tmp_path / "work" / "z_producer" / "driver_ran").exists()
    assert saved_input(tmp_path, "z_producer")["inputs"]["parameterValues"] == {"span": 7.0}
    [examples] = saved_input(tmp_path, "a_consumer")["inputs"]["artifacts"]["examples"]["artifacts"]
    assert examples["type"] == {"instanceSchema": EXAMPLES_SCHEMA}


def test_the_root_parameter_takes_the_given_value(tmp_path):
    run(tmp_path, write_package(tmp_path / "p.yaml"), parameters={"limit": 9})

    assert saved_input(tmp_path, "a_consumer")["inputs"]["parameterValues"]["limit"] == 9.0


def test_a_failing_task_is_named_with_its_last_lines_and_nothing_after_it_runs(tmp_path):
    package = write_package(tmp_path / "p.yaml", producer=container("fail"))

    with pytest.raises(local_executor.TaskFailedError) as failure:
        run(tmp_path, package)

    message = str(failure.value)
    assert message.startswith("Task z_producer failed (the task's command exited with status 3)")
    assert "ValueError: probe failure in the task" in message
    assert str(tmp_path / "work" / "z_producer" / "task.log") in message
    assert not (tmp_path / "work" / "a_consumer").exists()


@pytest.mark.parametrize("executor, message", [
    ({"resolver": {"outputArtifactQueries": {}}}, "contains TFX Resolver nodes (Consumer_executor)"),
    ({"importer": {"artifactUri": {"constant": "gs://x"}}}, "Task a_consumer has an executor of kind 'importer'"),
])
def test_executors_the_backend_refuses_fail_before_any_task_runs(tmp_path, executor, message):
    with pytest.raises(PackageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(tmp_path, write_package(tmp_path / "p.yaml", consumer=executor))
    assert not (tmp_path / "work" / "z_producer").exists()


def test_a_placeholder_the_launcher_would_need_to_resolve_is_refused(tmp_path):
    consumer = container()
    consumer["container"]["args"].append("{{$.inputs.parameters['limit']}}")
    placeholder = r"\{\{\$\.inputs\.parameters\['limit'\]\}\}"
    with pytest.raises(PackageError, match=rf"Task a_consumer uses placeholder {placeholder}"):
        run(tmp_path, write_package(tmp_path / "p.yaml", consumer=consumer))


def test_a_root_parameter_without_value_is_refused_as_the_api_server_refuses_it(tmp_path):
    package = write_package(tmp_path / "p.yaml", root_parameters={"limit": {"parameterType": "NUMBER_INTEGER"}})
    with pytest.raises(PackageError, match="parameter 'limit' has neither default value nor user provided value"):
        run(tmp_path, package)


@pytest.mark.parametrize("root", ["/tmp/root", "file:///tmp/root", "http://host/root"])
def test_output_uris_must_be_in_a_bucket_the_launcher_accepts(tmp_path, root):
    with pytest.raises(PackageError, match="--pipeline-root must start with gs://, s3://, minio://"):
        local_executor.run_package(write_package(tmp_path / "p.yaml"), root, work_dir=str(tmp_path / "w"),
                                   run_id=RUN_ID)


def test_a_used_work_folder_is_refused(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "old.log").write_text("")
    with pytest.raises(PackageError, match="is not empty"):
        run(tmp_path, write_package(tmp_path / "p.yaml"))


def test_the_interpreter_is_this_environments_and_the_image_root_is_this_checkout():
    assert local_executor._local_command(["python", "-m", "x"]) == [sys.executable, "-m", "x"]
    assert local_executor._local_command(["/bin/sh", "-c", "x"]) == ["/bin/sh", "-c", "x"]
    assert os.path.isfile(os.path.join(local_executor._this_checkout(), "pipeline", "schema", "schema.pbtxt"))
    assert options.IMAGE_SCHEMA_PATH.startswith(options.IMAGE_SOURCE_ROOT + "/")


def test_the_command_prints_each_task_the_wall_times_and_the_push(tmp_path, capsys):
    package = write_package(tmp_path / "p.yaml")
    code = cli.main(["kubeflow", "run-local", "--package", package, "--pipeline-root", ROOT, "--run-id", RUN_ID,
                     "--work-dir", str(tmp_path / "work"), "--parameter", "limit=8"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"Running {package} as open-source KFP v2 would; task logs in {tmp_path / 'work'}"
    assert out[1] == "[1/2] z_producer ..." and out[3] == "[2/2] a_consumer ..."
    assert re.fullmatch(r" +z_producer done in \d+\.\d s", out[2]) and re.fullmatch(r" +a_consumer done in .*", out[4])
    assert out[5].startswith("All 2 tasks succeeded in ") and out[5].endswith(f"outputs below {ROOT}/gc-tfx/{RUN_ID}")
    assert re.fullmatch(r"Task wall times: z_producer \d+ s, a_consumer \d+ s", out[6])
    assert out[7].startswith("Pushed model: none")  # no Pusher in this package
    assert saved_input(tmp_path, "a_consumer")["inputs"]["parameterValues"]["limit"] == 8.0


@pytest.mark.parametrize("flags, message", [
    (["--pipeline-root", "/srv/root"], "--pipeline-root must start with gs://, s3://, minio://"),
    (["--parameter", "limit"], "--parameter must be NAME=VALUE, got 'limit'."),
    (["--parameter", "epochs=3"], "has no parameter epochs (it has: limit)"),
])
def test_bad_flags_are_one_clear_error(tmp_path, capsys, flags, message):
    arguments = {"--package": write_package(tmp_path / "p.yaml"), "--pipeline-root": ROOT,
                 "--work-dir": str(tmp_path / "work")}
    arguments.update(dict(zip(flags[::2], flags[1::2])))
    code = cli.main(["kubeflow", "run-local", *[item for pair in arguments.items() for item in pair]])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "work" / "z_producer").exists()
