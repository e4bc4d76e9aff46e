"""`gc-tfx kubeflow compile`: the package open-source KFP v2 gets, read back exactly as the KFP client reads it.

Two packages are compiled once per module (importing TFX dominates; compiling takes a fraction of a second):
one of three seeds with GPUs and CPU/memory limits on the Trainers, one of the default single seed with none.
"""
import json
import os
import sys

import pytest
import yaml
from google.protobuf import json_format
from kfp.client import client as kfp_client
from kfp.pipeline_spec import pipeline_spec_pb2

import pipeline as pipeline_package
from cli import main as cli

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


def compile_package(output_path, *extra_flags: str) -> None:
    code = cli.main(["kubeflow", "compile", "--image", IMAGE, "--pipeline-root", PIPELINE_ROOT,
                     "--data-root", DATA_ROOT, "--output", str(output_path), *extra_flags])
    assert code == 0


def read_like_the_kfp_client(path) -> pipeline_spec_pb2.PipelineSpec:
    """kfp 2.5's own reader, the one `Client.upload_pipeline`/`run_pipeline` use on a package file."""
    return kfp_client._extract_pipeline_yaml(str(path)).pipeline_spec  # pylint: disable=protected-access


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
    compile_package(path, "--gpus", "2", "--trainer-cpu", "8", "--trainer-memory", "30.5", "--epochs", "3",
                    "--seeds", "3")
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
    # Every task is cached but ModelSelection (the serving model it must beat is not among its inputs) and
    # ImageExampleGen (open-source KFP runs no driver to fingerprint the data, so its key misses a changed folder).
    assert {name for name, task in default_spec.root.dag.tasks.items() if not task.caching_options.enable_cache} == {
        "ImageExampleGen", "ModelSelection"}
    assert not any(task.caching_options.enable_cache for task in custom_spec.root.dag.tasks.values())


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
