"""`gc-tfx kubeflow compile`: the package open-source KFP v2 gets, read back exactly as the KFP client reads it.

Two packages are compiled once per module (importing TFX dominates; compiling takes a fraction of a second):
one of three seeds with GPUs and CPU/memory limits on the Trainers and Kubeflow's MinIO wired in, one of the
default single seed with none of these.
"""
import json
import os
import sys

import pytest
import yaml
from google.protobuf import json_format
from kfp.client import client as kfp_client
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

import pipeline as pipeline_package
from cli import main as cli
from kubeflow import local_executor
from kubeflow import package as package_lib
from kubeflow.errors import PackageError

IMAGE = "registry.example/team/gc-tfx:1.0"
PIPELINE_ROOT = "gs://gc-bucket/pipeline-root"
DATA_ROOT = "gs://gc-bucket/horse-or-human"
SEEDS = (42, 43, 44)  # --seeds 3 from the default --seed
TRAINERS = {f"trainer_{method}_seed{seed}" for seed in SEEDS for method in ("gc", "baseline")}
EVALUATORS = {f"evaluator_seed{seed}" for seed in SEEDS}
EXPECTED_TASKS = {"ImageExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "DataValidationGate",
                  "Transform", *TRAINERS, *EVALUATORS, "ModelSelection", "Pusher", "Review"}
ONE_SEED_TASKS = (EXPECTED_TASKS - TRAINERS - EVALUATORS) | {"trainer_gc_seed42", "trainer_baseline_seed42",
                                                              "evaluator_seed42"}
MINIO = "http://minio-service.kubeflow:9000"
MINIO_FLAGS = ("--s3-endpoint", MINIO, "--s3-credentials-secret", "mlpipeline-minio-artifact")
GPU_FLAGS = ("--gpus", "2", "--trainer-cpu", "8", "--trainer-memory", "30.5", "--epochs", "3", "--seeds", "3",
             *MINIO_FLAGS)
MINIO_ENV = {"S3_ENDPOINT": MINIO, "AWS_ENDPOINT_URL": MINIO, "S3_VERIFY_SSL": "0", "AWS_REGION": "us-east-1",
             "AWS_DEFAULT_REGION": "us-east-1"}


def compile_package(output_path, *extra_flags: str) -> None:
    code = cli.main(["kubeflow", "compile", "--image", IMAGE, "--pipeline-root", PIPELINE_ROOT,
                     "--data-root", DATA_ROOT, "--output", str(output_path), *extra_flags])
    assert code == 0


def read_like_the_kfp_client(path) -> pipeline_spec_pb2.PipelineSpec:
    """kfp 2.5's own reader, the one `Client.upload_pipeline`/`run_pipeline` use on a package file."""
    return kfp_client._extract_pipeline_yaml(str(path)).pipeline_spec  # pylint: disable=protected-access


def platform_spec_like_the_kfp_client(path) -> pipeline_spec_pb2.PlatformSpec:
    return kfp_client._extract_pipeline_yaml(str(path)).platform_spec  # pylint: disable=protected-access


def executors(spec: pipeline_spec_pb2.PipelineSpec):
    deployment = json_format.ParseDict(json_format.MessageToDict(spec.deployment_spec),
                                       pipeline_spec_pb2.PipelineDeploymentConfig())
    return deployment.executors


def task_executor(spec: pipeline_spec_pb2.PipelineSpec, task: str):
    component = spec.root.dag.tasks[task].component_ref.name
    return executors(spec)[spec.components[component].executor_label]


def constant(spec: pipeline_spec_pb2.PipelineSpec, task: str, parameter: str) -> str:
    return spec.root.dag.tasks[task].inputs.parameters[parameter].runtime_value.constant.string_value


@pytest.fixture(scope="module")
def gpu_package(tmp_path_factory):
    path = tmp_path_factory.mktemp("gpu") / "pipeline.yaml"
    compile_package(path, *GPU_FLAGS)
    return path


@pytest.fixture(scope="module")
def cpu_package(tmp_path_factory):
    path = tmp_path_factory.mktemp("cpu") / "nested" / "pipeline.yml"
    compile_package(path, "--beam-arg=--direct_num_workers=4", "--no-cache",
                    "--serving-model-dir", "/mnt/models/gc-tfx", "--schema-path", "gs://gc-bucket/schema.pbtxt")
    return path


def test_package_has_the_schema_version_open_source_kfp_accepts(gpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    assert spec.schema_version == "2.1.0"
    assert spec.pipeline_info.name == "gc-tfx"
    assert spec.default_pipeline_root == PIPELINE_ROOT


def test_package_holds_every_component_of_the_local_pipeline(gpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    assert set(spec.root.dag.tasks) == EXPECTED_TASKS


def test_every_task_runs_the_image_through_our_entrypoint_with_tfx_arguments(gpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    for task in EXPECTED_TASKS:
        container = task_executor(spec, task).container
        assert container.image == IMAGE, task
        assert list(container.command) == ["python", "-m", "kubeflow.task_entrypoint"], task
        assert "--executor_class_path" in container.args and "{{$}}" in container.args, task
        assert "--json_serialized_inputs_spec_args" in container.args, task  # what the entrypoint types inputs from
    hook = task_executor(spec, "ImageExampleGen").container.lifecycle.pre_cache_check
    assert list(hook.command) == ["python", "-m", "kubeflow.task_entrypoint", "--example-gen-driver"]


def test_only_the_trainers_request_gpus(gpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    for task in EXPECTED_TASKS:
        resources = task_executor(spec, task).container.resources
        if task in TRAINERS:
            assert (resources.accelerator.type, resources.accelerator.count) == ("nvidia.com/gpu", 2), task
            assert (resources.cpu_limit, resources.memory_limit) == (8.0, 30.5), task
        else:
            assert not task_executor(spec, task).container.HasField("resources"), task


def test_the_trainers_depend_on_no_other_trainer_so_they_run_in_parallel(gpu_package):
    tasks = read_like_the_kfp_client(gpu_package).root.dag.tasks
    for trainer in TRAINERS:
        assert set(tasks[trainer].dependent_tasks) == {"ImageExampleGen", "ImportSchemaGen", "Transform"}, trainer
    for seed in SEEDS:  # one Evaluator per pair, the selection after all of them
        assert set(tasks[f"evaluator_seed{seed}"].dependent_tasks) == {
            "ImageExampleGen", f"trainer_gc_seed{seed}", f"trainer_baseline_seed{seed}"}
    assert set(tasks["ModelSelection"].dependent_tasks) == {"ImageExampleGen", *TRAINERS, *EVALUATORS}
    assert set(tasks["Review"].dependent_tasks) == {"ImageExampleGen", "StatisticsGen", "ExampleValidator",
                                                    *TRAINERS, *EVALUATORS, "ModelSelection", "Pusher"}
    assert constant_string(tasks["ModelSelection"], "seeds") == "42,43,44"


def constant_string(task, parameter: str) -> str:
    return task.inputs.parameters[parameter].runtime_value.constant.string_value


def test_without_gpus_no_task_requests_an_accelerator(cpu_package):
    spec = read_like_the_kfp_client(cpu_package)
    assert set(spec.root.dag.tasks) == ONE_SEED_TASKS
    for task in ONE_SEED_TASKS:
        assert not task_executor(spec, task).container.HasField("resources"), task


def test_package_has_no_resolver_nodes(gpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    assert not [label for label, executor in executors(spec).items() if executor.WhichOneof("spec") == "resolver"]
    assert not [task for task in spec.root.dag.tasks if "resolver" in task.lower()]


def test_locations_are_the_cluster_ones(gpu_package, cpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    assert constant(spec, "ImageExampleGen", "input_base") == DATA_ROOT
    assert constant(spec, "ImportSchemaGen", "schema_file") == "/gc-tfx/pipeline/schema/schema.pbtxt"
    push_destination = json.loads(constant(spec, "Pusher", "push_destination"))
    assert push_destination["filesystem"]["base_directory"] == f"{PIPELINE_ROOT}/serving_model"
    # ModelSelection compares with what serves where the Pusher pushes (no Resolver: a parameter).
    assert constant(spec, "ModelSelection", "serving_model_dir") == f"{PIPELINE_ROOT}/serving_model"

    custom = read_like_the_kfp_client(cpu_package)
    assert constant(custom, "ImportSchemaGen", "schema_file") == "gs://gc-bucket/schema.pbtxt"
    push_destination = json.loads(constant(custom, "Pusher", "push_destination"))
    assert push_destination["filesystem"]["base_directory"] == "/mnt/models/gc-tfx"
    assert constant(custom, "ModelSelection", "serving_model_dir") == "/mnt/models/gc-tfx"


def test_nothing_of_this_machine_leaks_into_the_package(gpu_package, cpu_package):
    repository = os.path.dirname(os.path.dirname(os.path.abspath(pipeline_package.__file__)))
    for package in (gpu_package, cpu_package):
        text = package.read_text()
        for local in ("/work/", repository, sys.prefix, str(package.parent), os.getcwd()):
            assert local not in text, local


def test_a_path_of_this_machine_is_refused(tmp_path, capsys):
    repository = os.path.dirname(os.path.dirname(os.path.abspath(pipeline_package.__file__)))
    output = tmp_path / "pipeline.yaml"
    code = cli.main(["kubeflow", "compile", "--image", IMAGE, "--pipeline-root", PIPELINE_ROOT,
                     "--data-root", os.path.join(repository, "data"), "--output", str(output)])
    assert code == 1
    assert f"The package would contain {repository!r}, a path on this machine" in capsys.readouterr().err
    assert not output.exists()


def test_each_pair_gets_the_same_training_settings_but_the_method_and_pairs_differ_by_seed(gpu_package):
    spec = read_like_the_kfp_client(gpu_package)
    for seed in SEEDS:
        gc = json.loads(constant(spec, f"trainer_gc_seed{seed}", "custom_config"))
        baseline = json.loads(constant(spec, f"trainer_baseline_seed{seed}", "custom_config"))
        assert (gc.pop("method"), baseline.pop("method")) == ("gc", "baseline")
        assert gc == baseline
        assert (gc["epochs"], gc["seed"]) == (3, seed)


def test_beam_args_and_caching_follow_the_flags(gpu_package, cpu_package):
    default = task_executor(read_like_the_kfp_client(gpu_package), "StatisticsGen").container.args
    assert "--direct_running_mode=multi_processing" in default and "--direct_num_workers=0" in default
    custom_spec = read_like_the_kfp_client(cpu_package)
    custom = task_executor(custom_spec, "StatisticsGen").container.args
    assert "--direct_num_workers=4" in custom and "--direct_running_mode=multi_processing" not in custom
    default_spec = read_like_the_kfp_client(gpu_package)
    # Every task is cached but ModelSelection: the serving model it must beat is not among its inputs.
    assert {name for name, task in default_spec.root.dag.tasks.items() if not task.caching_options.enable_cache} == {
        "ModelSelection"}
    assert not any(task.caching_options.enable_cache for task in custom_spec.root.dag.tasks.values())


def test_image_example_gen_is_cached_on_the_data_fingerprint_root_parameter(gpu_package):
    """KFP's cache key holds the task's input parameter values: the fingerprint, the folder's name and the rest."""
    spec = read_like_the_kfp_client(gpu_package)
    [root_parameter] = spec.root.input_definitions.parameters.items()
    assert root_parameter[0] == "data_fingerprint"
    assert root_parameter[1].parameter_type == pipeline_spec_pb2.ParameterType.STRING
    assert not root_parameter[1].HasField("default_value")  # a run must say which data it reads
    example_gen = spec.root.dag.tasks["ImageExampleGen"]
    assert example_gen.caching_options.enable_cache
    assert example_gen.inputs.parameters["data_fingerprint"].component_input_parameter == "data_fingerprint"
    assert constant(spec, "ImageExampleGen", "input_base") == DATA_ROOT
    readers = [name for name, task in spec.root.dag.tasks.items()
               if any(value.component_input_parameter for value in task.inputs.parameters.values())]
    assert readers == ["ImageExampleGen"]  # the fingerprint reaches the other tasks only through the examples


def _own_cache_key(spec: pipeline_spec_pb2.PipelineSpec, task_name: str, root_values: dict) -> str:
    """What open-source KFP's GenerateCacheKey takes from the task itself: its input parameter values, output
    definitions, command, arguments and image (not env, not secrets). Input artifacts are handled by the caller."""
    task = spec.root.dag.tasks[task_name]
    parameters = {key: root_values[value.component_input_parameter] if value.component_input_parameter
                  else json_format.MessageToDict(value.runtime_value.constant)
                  for key, value in task.inputs.parameters.items()}
    component = spec.components[task.component_ref.name]
    container = task_executor(spec, task_name).container
    return json.dumps([parameters, json_format.MessageToDict(component.output_definitions),
                       list(container.command), list(container.args), container.image], sort_keys=True)


def tasks_that_rerun(previous, following, previous_values: dict, following_values: dict) -> set:
    """The tasks of `following` that KFP runs again after a run of `previous`: uncached ones, those whose own key
    changed, and those after a task that ran again (its new output artifacts have new ML Metadata ids)."""
    rerun = set()
    for name in local_executor.task_order(following):
        task = following.root.dag.tasks[name]
        if (not task.caching_options.enable_cache or set(task.dependent_tasks) & rerun
                or _own_cache_key(following, name, following_values)
                != _own_cache_key(previous, name, previous_values)):
            rerun.add(name)
    return rerun


def test_an_unchanged_bucket_with_another_quality_floor_reruns_only_the_selection_push_and_review(gpu_package,
                                                                                                    tmp_path):
    first = read_like_the_kfp_client(gpu_package)
    stricter = tmp_path / "stricter.yaml"
    compile_package(stricter, *GPU_FLAGS, "--quality-floor", "0.9")
    same_data = {"data_fingerprint": "objects:40,sha256:0f"}

    assert tasks_that_rerun(first, read_like_the_kfp_client(stricter), same_data, same_data) == {
        "ModelSelection", "Pusher", "Review"}
    assert tasks_that_rerun(first, first, same_data, same_data) == {"ModelSelection", "Pusher", "Review"}
    # Other data: everything that reads it, which is all but the schema import.
    assert tasks_that_rerun(first, first, same_data, {"data_fingerprint": "objects:41,sha256:7a"}) == set(
        first.root.dag.tasks) - {"ImportSchemaGen"}


def test_every_executor_reads_the_compiled_endpoint_from_its_env(gpu_package, cpu_package):
    for label, executor in executors(read_like_the_kfp_client(gpu_package)).items():
        assert {variable.name: variable.value for variable in executor.container.env} == MINIO_ENV, label
    for label, executor in executors(read_like_the_kfp_client(cpu_package)).items():
        assert not executor.container.env, label


def test_every_executor_gets_the_secret_keys_as_aws_variables(gpu_package, cpu_package):
    """The second YAML document, read as the KFP client reads it and checked against kfp-kubernetes' proto."""
    platform = platform_spec_like_the_kfp_client(gpu_package).platforms["kubernetes"]
    configs = platform.deployment_spec.executors
    assert set(configs) == set(executors(read_like_the_kfp_client(gpu_package)))
    for label, config in configs.items():
        executor_config = json_format.ParseDict(json_format.MessageToDict(config),
                                                kubernetes_executor_config_pb2.KubernetesExecutorConfig())
        [secret] = executor_config.secret_as_env
        assert secret.secret_name == "mlpipeline-minio-artifact", label
        assert [(entry.secret_key, entry.env_var) for entry in secret.key_to_env] == [
            ("accesskey", "AWS_ACCESS_KEY_ID"), ("secretkey", "AWS_SECRET_ACCESS_KEY")], label
    assert len(list(yaml.safe_load_all(gpu_package.read_text()))) == 2
    assert len(list(yaml.safe_load_all(cpu_package.read_text()))) == 1  # no secret, no platform document


def test_https_turns_certificate_checks_on_and_the_secret_keys_can_be_renamed(tmp_path):
    path = tmp_path / "tls.yaml"
    compile_package(path, "--s3-endpoint", "https://s3.example:8443/", "--s3-credentials-secret", "team-s3",
                    "--s3-access-key-field", "AccessKey", "--s3-secret-key-field", "SecretKey", "--s3-region",
                    "eu-west-1")
    executor = task_executor(read_like_the_kfp_client(path), "Transform")
    assert {variable.name: variable.value for variable in executor.container.env} == {
        "S3_ENDPOINT": "https://s3.example:8443", "AWS_ENDPOINT_URL": "https://s3.example:8443",
        "S3_VERIFY_SSL": "1", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    config = platform_spec_like_the_kfp_client(path).platforms["kubernetes"].deployment_spec.executors[
        "Transform_executor"]
    assert json_format.MessageToDict(config) == {"secretAsEnv": [{"secretName": "team-s3", "keyToEnv": [
        {"secretKey": "AccessKey", "envVar": "AWS_ACCESS_KEY_ID"},
        {"secretKey": "SecretKey", "envVar": "AWS_SECRET_ACCESS_KEY"}]}]}


def test_kubernetes_settings_the_backend_cannot_read_are_refused(gpu_package, tmp_path):
    spec, platform = yaml.safe_load_all(gpu_package.read_text())
    platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["Pusher_executor"]["secretAsEnv"][0][
        "keyToEnv"][0]["envVariable"] = "AWS_ACCESS_KEY_ID"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all([spec, platform]))
    with pytest.raises(PackageError, match="the Kubernetes settings of executor 'Pusher_executor' are not a "
                                           "KubernetesExecutorConfig"):
        package_lib.check_kfp_accepts(package_lib.read_package(str(broken)))


def test_force_push_reaches_model_selection(tmp_path):
    path = tmp_path / "forced.yaml"
    compile_package(path, "--force-push")
    tasks = read_like_the_kfp_client(path).root.dag.tasks
    assert tasks["ModelSelection"].inputs.parameters["force_push"].runtime_value.constant.number_value == 1


def test_compile_prints_what_it_wrote_and_how_to_dry_run_and_submit(tmp_path, capsys, gpu_package):
    output = tmp_path / "again.yaml"
    compile_package(output, "--gpus", "1")
    out = capsys.readouterr().out
    assert f"Wrote {output}: 12 tasks on {IMAGE}, 1 GPU(s) per Trainer, pipeline root {PIPELINE_ROOT}." in out
    assert f"gc-tfx kubeflow run-local --package {output} --pipeline-root {PIPELINE_ROOT}" in out
    assert f"gc-tfx kubeflow submit --host URL --package {output}" in out


@pytest.mark.parametrize("flags, message", [
    (["--image", "registry.example/gc-tfx"], "--image must name a fixed tag or digest"),
    (["--image", "registry.example/gc-tfx:latest"], "--image must name a fixed tag or digest"),
    (["--image", "Registry Example/gc-tfx:1"], "--image must be a container image reference"),
    (["--pipeline-root", "artifacts"], "--pipeline-root must be an object-store URI"),
    (["--pipeline-root", "file:///srv/artifacts"], "--pipeline-root must be an object-store URI"),
    (["--data-root", "data"], "--data-root must be a URI such as gs://BUCKET/PATH, or an absolute path"),
    (["--serving-model-dir", "file:///models"], "--serving-model-dir must be a URI"),
    (["--gpus", "-1"], "--gpus must be 0 or more, got -1."),
    (["--trainer-memory", "0"], "--trainer-memory must be greater than 0"),
    (["--epochs", "0"], "--epochs must be a whole number of at least 1, got 0."),
    (["--quality-floor", "-0.1"], "--quality-floor must be a number >= 0"),
    (["--image-size", "32"], "--image-size 32 is too small"),
    (["--eval-percent", "60"], "--eval-percent must be a whole number from 1 to 50"),
    (["--pipeline-name", "GC_TFX"], "--pipeline-name must be lower-case letters"),
    (["--output", "pipeline.json"], "--output must end with .yaml or .yml"),
    (["--s3-endpoint", "minio-service.kubeflow:9000"], "--s3-endpoint must be the S3 server's URL with its scheme"),
    (["--s3-endpoint", "http://minio:9000/bucket"], "--s3-endpoint must be the S3 server's URL with its scheme"),
    (["--s3-credentials-secret", "MinIO_Keys"], "--s3-credentials-secret must be a Kubernetes secret name"),
    (["--s3-access-key-field", "user"], "--s3-access-key-field name keys of the secret --s3-credentials-secret"),
    (["--s3-credentials-secret", "keys", "--s3-secret-key-field", "a key"], "--s3-secret-key-field must be a key"),
])
def test_bad_flags_are_named_without_a_traceback(tmp_path, capsys, flags, message):
    arguments = {"--image": IMAGE, "--pipeline-root": PIPELINE_ROOT, "--data-root": DATA_ROOT,
                 "--output": str(tmp_path / "pipeline.yaml")}
    arguments.update(dict(zip(flags[::2], flags[1::2])))
    code = cli.main(["kubeflow", "compile", *[item for pair in arguments.items() for item in pair]])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "pipeline.yaml").exists()



def test_the_review_step_outputs_the_types_the_kfp_ui_renders(gpu_package):
    """The launcher takes the MLMD type from the output's schema title; the UI picks viewers by that type."""
    spec = read_like_the_kfp_client(gpu_package)
    component = spec.components[spec.root.dag.tasks["Review"].component_ref.name]
    titles = {name: yaml.safe_load(definition.artifact_type.instance_schema)["title"]
              for name, definition in component.output_definitions.artifacts.items()}
    assert titles == {"report": "system.HTML", "verdict": "system.Markdown", "metrics": "system.Metrics",
                      "gc_classification": "system.ClassificationMetrics",
                      "baseline_classification": "system.ClassificationMetrics"}
