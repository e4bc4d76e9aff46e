"""`gc-tfx kubeflow run-local` on the real compiled package, against a local S3 server standing in for MinIO.

One package, compiled for s3:// roots (1 epoch, 96 px, both Trainers, a quality floor of 0 so a model is pushed)
with the server's endpoint and a credentials secret wired in, runs twice as open-source KFP v2 would run it: as
compiled (every task must succeed and the pushed model must load from the bucket and predict through both
signatures), and with TFX's own entrypoint instead of ours (it must fail where the cluster fails: StatisticsGen,
the first task with an upstream artifact, on TFX's AttributeError). The shell that runs them sets only the keys
(what the cluster's secret would give): every task reaches the bucket through the endpoint compiled into its env.
"""
import json
import math
import os
import re
import subprocess
import sys
from typing import Dict

import pytest
import yaml

import image_fixtures
import s3_server
from cli import main as cli
from kubeflow import data_fingerprint, local_executor, task_entrypoint

pytestmark = pytest.mark.e2e
# The tests of the as-compiled run stay on one xdist worker; the TFX-entrypoint run needs only the package, so
# another worker can run it meanwhile.
AS_COMPILED = pytest.mark.xdist_group("kubeflow_run_local")

# TFX's entrypoint as TFX's package runs it, only ended as ours ends it (os._exit), because tensorflow-io, which
# tensorflow_transform imports, aborts the interpreter at exit ("pure virtual method called"): unended, the very
# first task would already fail that way, before any artifact is handed over.
TFX_ENTRYPOINT = ["python", "-c", "\n".join([
    "import os, runpy, sys",
    "try:",
    f"    runpy.run_module({task_entrypoint.EXECUTOR_MODULE!r}, run_name='__main__', alter_sys=True)",
    "except SystemExit as end:",
    "    sys.stdout.flush(), sys.stderr.flush()",
    "    os._exit(end.code or 0)"])]
ROOT = f"s3://{s3_server.BUCKET}/root"
SECRET_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")  # what the package maps from the secret
TEST_IMAGES = ("test/horses/horses-000.png", "test/humans/humans-000.png")
# Loads the pushed SavedModel from S3 in a fresh process (tensorflow_io's filesystem aborts the interpreter at
# exit, so the process ends itself) and prints both signatures' probabilities for the same images, and the version
# the next run's ModelSelection will find serving there.
PREDICT = """
import json, os, sys
import tensorflow as tf, tensorflow_io
from components.model_selection import serving_model
model = tf.saved_model.load(sys.argv[1])
images = [open(path, "rb").read() for path in sys.argv[2:]]
examples = [tf.train.Example(features=tf.train.Features(feature={"image": tf.train.Feature(
    bytes_list=tf.train.BytesList(value=[image]))})).SerializeToString() for image in images]
by_images = model.signatures["predict_images"](images=tf.constant(images))["probability"]
by_examples = model.signatures["serving_default"](examples=tf.constant(examples))["probability"]
print(json.dumps({"images": by_images.numpy().ravel().tolist(), "examples": by_examples.numpy().ravel().tolist(),
                  "serving": list(serving_model.newest_version(os.path.dirname(sys.argv[1])))}))
sys.stdout.flush()
os._exit(0)
"""


def gc_tfx(environment: Dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "gc-tfx"), *arguments], env=environment,
                          capture_output=True, text=True, check=False, timeout=900)


@pytest.fixture(scope="module")
def s3():
    with s3_server.running() as server:
        yield server


@pytest.fixture(scope="module")
def setting(s3, tmp_path_factory):
    """The data in the bucket, the compiled package, and the environment a user sets for MinIO."""
    folder = tmp_path_factory.mktemp("run_local")
    data = str(folder / "data")
    image_fixtures.write_clean_data_folder(data, train_per_class=16, test_per_class=4)
    assert s3.upload_folder(data, "data") == 40
    package = folder / "pipeline.yaml"
    assert cli.main(["kubeflow", "compile", "--image", "registry.example/gc-tfx:1", "--pipeline-root", ROOT,
                     "--data-root", f"s3://{s3_server.BUCKET}/data", "--output", str(package), "--epochs", "1",
                     "--image-size", "96", "--batch-size", "8", "--eval-percent", "25", "--quality-floor", "0",
                     "--beam-arg=--direct_running_mode=multi_processing", "--beam-arg=--direct_num_workers=1",
                     "--s3-endpoint", s3.endpoint, "--s3-credentials-secret", "mlpipeline-minio-artifact"]) == 0
    keys = {name: s3.environment()[name] for name in SECRET_VARIABLES}
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("S3_", "AWS_")) and name != "PYTHONDONTWRITEBYTECODE"}
    environment.update(TF_USE_LEGACY_KERAS="1", **keys)  # let Python cache bytecode: every task imports TFX
    return {"folder": folder, "data": data, "package": package, "environment": environment,
            "s3_environment": dict(environment, **s3.environment())}


@pytest.fixture(scope="module")
def open_source_run(setting):
    work = setting["folder"] / "work"
    completed = gc_tfx(setting["environment"], "kubeflow", "run-local", "--package", str(setting["package"]),
                       "--pipeline-root", ROOT, "--run-id", "as-compiled", "--work-dir", str(work))
    return completed, work


@AS_COMPILED
def test_every_task_succeeds_and_reports_its_wall_time(open_source_run, setting):
    completed, _ = open_source_run
    assert completed.returncode == 0, completed.stdout + completed.stderr
    tasks = next(yaml.safe_load_all(setting["package"].read_text()))["root"]["dag"]["tasks"]
    assert f"All {len(tasks)} tasks succeeded" in completed.stdout
    [times] = [line for line in completed.stdout.splitlines() if line.startswith("Task wall times: ")]
    assert {re.match(r"(\S+) \d+ s", part).group(1) for part in times[len("Task wall times: "):].split(", ")} == set(
        tasks)
    assert "as open-source KFP v2 would" in completed.stdout


@AS_COMPILED
def test_the_tasks_reached_the_bucket_through_the_compiled_endpoint_with_the_shells_keys(open_source_run, setting,
                                                                                        s3):
    completed, _ = open_source_run
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert not {name for name in setting["environment"] if name.startswith("S3_") or name.endswith("ENDPOINT_URL")}
    assert s3.keys("root/gc-tfx/as-compiled/ImageExampleGen/examples/")  # written by the first task
    listing = data_fingerprint.list_data_root(f"s3://{s3_server.BUCKET}/data", s3.environment())
    assert f"Data fingerprint: {data_fingerprint.fingerprint(listing)} (40 objects below s3://" in completed.stdout


@AS_COMPILED
def test_our_entrypoint_typed_the_artifacts_open_source_kfp_sent_untyped(open_source_run):
    _, work = open_source_run
    log = (work / "StatisticsGen" / "task.log").read_text()
    assert "Input artifacts without a type (open-source KFP sends none), typed from the component's inputs spec: " \
           "examples" in log


@AS_COMPILED
def test_the_pushed_model_is_in_the_bucket_and_predicts_through_both_signatures(open_source_run, setting, s3):
    completed, _ = open_source_run
    match = re.search(rf"^Pushed model: ({re.escape(ROOT)}/serving_model/(\d+))$", completed.stdout, re.MULTILINE)
    assert match, completed.stdout
    version_prefix = f"root/serving_model/{match.group(2)}/"
    assert f"{version_prefix}saved_model.pb" in s3.keys(version_prefix)

    predicted = subprocess.run([sys.executable, "-c", PREDICT, match.group(1),
                                *(os.path.join(setting["data"], image) for image in TEST_IMAGES)],
                               env=setting["s3_environment"], capture_output=True, text=True, check=False,
                               timeout=300)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    probabilities = json.loads(predicted.stdout.strip().splitlines()[-1])
    assert len(probabilities["images"]) == 2 and all(0.0 <= value <= 1.0 for value in probabilities["images"])
    assert probabilities["examples"] == pytest.approx(probabilities["images"], abs=1e-6)
    assert probabilities["serving"] == [match.group(2), match.group(1)]  # what the next run must beat


@pytest.mark.xdist_group("kubeflow_tfx_entrypoint")
def test_the_same_package_with_tfx_own_entrypoint_fails_as_on_an_open_source_cluster(setting):
    """Proof that the executor reproduces the backend: TFX alone cannot read open-source KFP's untyped inputs."""
    spec, platform = yaml.safe_load_all(setting["package"].read_text())
    for executor in spec["deploymentSpec"]["executors"].values():
        executor["container"]["command"] = list(TFX_ENTRYPOINT)
    package = setting["folder"] / "tfx_entrypoint.yaml"
    package.write_text(yaml.safe_dump_all([spec, platform]))

    completed = gc_tfx(setting["environment"], "kubeflow", "run-local", "--package", str(package),
                       "--pipeline-root", ROOT, "--run-id", "tfx-entrypoint",
                       "--work-dir", str(setting["folder"] / "tfx_work"))

    assert completed.returncode == 1
    assert "ImageExampleGen done" in completed.stdout  # no upstream artifact, so no type to lose
    assert "gc-tfx: error: Task StatisticsGen failed" in completed.stderr
    assert "AttributeError: 'NoneType' object has no attribute 'get'" in completed.stderr
    assert "Traceback" not in completed.stderr.split("its last lines")[0]


def _review_outputs(work) -> Dict[str, dict]:
    """The Review task's output artifacts as its executor reported them to the launcher (uri and metadata)."""
    with open(work / "Review" / local_executor.OUTPUT_METADATA_FOLDER / local_executor.OUTPUT_METADATA_FILE,
              encoding="utf-8") as output_file:
        executor_output = json.load(output_file)
    return {key: artifacts["artifacts"][0] for key, artifacts in executor_output["artifacts"].items()}


@AS_COMPILED
def test_the_review_step_leaves_what_the_kfp_ui_renders_in_the_bucket(open_source_run, setting, s3):
    """Read as the backend and the UI read them: the type name from the package's output definition (the launcher
    stores it as the ML Metadata type), the metadata from the executor's output, the HTML and Markdown objects at
    exactly the artifact URIs."""
    completed, work = open_source_run
    assert completed.returncode == 0, completed.stdout + completed.stderr
    spec = next(yaml.safe_load_all(setting["package"].read_text()))
    component = spec["components"][spec["root"]["dag"]["tasks"]["Review"]["componentRef"]["name"]]
    types = {key: yaml.safe_load(definition["artifactType"]["instanceSchema"])["title"]
             for key, definition in component["outputDefinitions"]["artifacts"].items()}
    assert types == {"report": "system.HTML", "verdict": "system.Markdown", "metrics": "system.Metrics",
                     "gc_classification": "system.ClassificationMetrics",
                     "baseline_classification": "system.ClassificationMetrics"}
    outputs = _review_outputs(work)
    prefix = f"s3://{s3_server.BUCKET}/"
    for key in ("report", "verdict"):
        uri = outputs[key]["uri"]
        assert uri.startswith(prefix) and uri[len(prefix):] in s3.keys(uri[len(prefix):])  # an object, not a folder
    body = s3.client().get_object(Bucket=s3_server.BUCKET, Key=outputs["report"]["uri"][len(prefix):])["Body"]
    page = body.read().decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'data-verdict="' in page and "data:image/svg+xml;base64," in page
    markdown = s3.client().get_object(Bucket=s3_server.BUCKET, Key=outputs["verdict"]["uri"][len(prefix):])["Body"]
    assert markdown.read().decode("utf-8").startswith("# ")

    metrics = dict(outputs["metrics"]["metadata"])
    assert metrics.pop("display_name") == "metrics"
    assert set(metrics) <= {"gc_mean_test_accuracy", "baseline_mean_test_accuracy", "mean_difference",
                            "interval_95_low", "interval_95_high", "p_value", "seeds"}  # no tfx_version row
    assert {"gc_mean_test_accuracy", "baseline_mean_test_accuracy", "mean_difference", "seeds"} <= set(metrics)
    assert all(isinstance(value, float) and math.isfinite(value) for value in metrics.values())
    for method in ("gc", "baseline"):
        metadata = outputs[f"{method}_classification"]["metadata"]
        assert "tfx_version" not in metadata
        matrix = metadata["confusionMatrix"]
        assert [spec["displayName"] for spec in matrix["annotationSpecs"]] == ["horses", "humans"]
        assert [len(row["row"]) for row in matrix["rows"]] == [2, 2]
        assert sum(sum(row["row"]) for row in matrix["rows"]) == 8  # the 8 test images
        roc = metadata["confidenceMetrics"]
        assert roc and all(math.isfinite(value) for point in roc for value in point.values())
