"""`gc-tfx run` end to end on tiny generated data: real TFX components, Beam, ML Metadata and SavedModels.

One module-scoped run feeds most tests; a second identical run must come from the cache, and a run with an
impossible quality floor must push nothing.
"""
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components.model_selection import tfma_metrics
from pipeline import metadata_reader
from pipeline.datasets import synthetic
import image_fixtures

pytestmark = pytest.mark.e2e

IMAGE_SIZE = 96
EXPECTED_NODES = {"ImageExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "DataValidationGate",
                  "Transform", "trainer_gc", "trainer_baseline", "Evaluator", "ModelSelection", "Pusher"}
BAD_FILES = {
    "train/horses/truncated.png": image_fixtures.truncated(image_fixtures.rgb_png((1, 2, 3), size=(64, 64))),
    "train/humans/empty.jpg": b"",
    "test/horses/notes.png": b"this is not an image\n",
}
# Every valid-but-awkward form the ExampleGen normalises (grayscale, 16-bit, RGBA, palette, CMYK, upper-case
# extensions, tiny, very large, GIF, BMP), spread over both splits and classes.
AWKWARD_FILES = {
    f"{('train', 'test')[index % 2]}/{('horses', 'humans')[index // 2 % 2]}/awkward_{case.file_name}": case.data
    for index, case in enumerate(image_fixtures.awkward_images().values())
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("data") / "images")
    synthetic.write_synthetic_dataset(root, train_size=60, test_size=16, image_size=IMAGE_SIZE, seed=1)
    for relative_path, data in {**BAD_FILES, **AWKWARD_FILES}.items():
        image_fixtures.write_file(os.path.join(root, relative_path), data)
    return root


def _gc_tfx(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *arguments], capture_output=True, text=True,
                          timeout=1200, check=False)


def _run(data_root: str, output: str, quality_floor: float) -> subprocess.CompletedProcess:
    return _gc_tfx("run", "--data", data_root, "--output", output, "--epochs", "2", "--batch-size", "8",
                   "--image-size", str(IMAGE_SIZE), "--seed", "3", "--eval-percent", "20", "--beam-workers", "1",
                   "--quality-floor", str(quality_floor))


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("run"))


def _run_and_read_metadata(data_root: str, output: str, quality_floor: float):
    result = _run(data_root, output, quality_floor)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result, metadata_reader.latest_run(metadata_reader.open_store(os.path.join(output, "metadata.sqlite")))


@pytest.fixture(scope="module")
def first_run(data_root, output_dir):
    return _run_and_read_metadata(data_root, output_dir, quality_floor=0.0)


@pytest.fixture(scope="module")
def cached_run(first_run, data_root, output_dir):
    return _run_and_read_metadata(data_root, output_dir, quality_floor=0.0)


@pytest.fixture(scope="module")
def impossible_floor_run(cached_run, data_root, output_dir):
    return _run_and_read_metadata(data_root, output_dir, quality_floor=1.5)


def _evaluation_metrics(nodes):
    return tfma_metrics.load_overall_metrics_by_model(nodes["Evaluator"].output("evaluation").uri)


def _selection(nodes):
    with open(os.path.join(nodes["ModelSelection"].output("blessing").uri, "selection.json")) as selection_file:
        return json.load(selection_file)


def test_every_component_ran_once_and_both_trainers_trained(first_run):
    _, nodes = first_run
    assert set(nodes) == EXPECTED_NODES
    assert {node.node_id: node.state for node in nodes.values()} == {node: "COMPLETE" for node in EXPECTED_NODES}
    assert sorted(node_id for node_id in nodes if "trainer" in node_id) == ["trainer_baseline", "trainer_gc"]


def test_every_file_is_ingested_or_rejected_with_a_reason(first_run, data_root):
    _, nodes = first_run
    examples_uri = nodes["ImageExampleGen"].output("examples").uri
    with open(os.path.join(examples_uri, "rejected.csv"), newline="") as rejected_file:
        rejected = {row["path"]: row for row in csv.DictReader(rejected_file)}
    with open(os.path.join(examples_uri, "ingestion_summary.json")) as summary_file:
        summary = json.load(summary_file)

    assert set(BAD_FILES) <= set(rejected)
    assert all(rejected[path]["reason"] for path in BAD_FILES)
    image_files = [os.path.relpath(os.path.join(folder, name), data_root).replace(os.sep, "/")
                   for folder, _, names in os.walk(data_root) for name in names
                   if os.path.relpath(folder, data_root).split(os.sep)[0] in ("train", "test")]
    ingested = summary["ingested_total"]
    assert ingested + len([path for path in image_files if path in rejected]) == len(image_files)
    assert ingested == len(image_files) - len(BAD_FILES)


def test_both_trainers_started_from_the_same_weights_and_only_gc_differs(first_run):
    _, nodes = first_run
    records = {}
    for trainer_id in ("trainer_gc", "trainer_baseline"):
        model_run_uri = nodes[trainer_id].output("model_run").uri
        with open(os.path.join(model_run_uri, "training_record.json")) as record_file:
            records[trainer_id] = json.load(record_file)
    gc_record, baseline_record = records["trainer_gc"], records["trainer_baseline"]
    assert gc_record["initial_weights_sha256"] == baseline_record["initial_weights_sha256"]
    assert gc_record["config"] == {**baseline_record["config"], "use_gc": True}
    assert "GC" in gc_record["optimizer"] and "GC" not in baseline_record["optimizer"]
    assert len(gc_record["epoch_seconds"]) == 2 and len(gc_record["history"]["val_loss"]) == 2
    for record in records.values():  # the whole fit() holds its epochs; the export is timed on its own
        assert 0 < sum(record["epoch_seconds"]) <= record["fit_seconds"] and record["export_seconds"] > 0
    assert any(name.startswith("events.out.tfevents") for _, _, names in
               os.walk(nodes["trainer_gc"].output("model_run").uri) for name in names)


def test_evaluator_reports_metrics_for_both_models_on_the_test_split(first_run, data_root):
    _, nodes = first_run
    metrics = _evaluation_metrics(nodes)
    test_images = sum(len(names) for folder, _, names in os.walk(os.path.join(data_root, "test")))
    for model_name in ("candidate", "baseline"):
        assert {"binary_accuracy", "auc", "precision", "recall", "binary_crossentropy", "example_count"} <= set(
            metrics[model_name])
        assert metrics[model_name]["example_count"] == test_images - 1  # notes.png is rejected
        assert 0.0 <= metrics[model_name]["binary_accuracy"] <= 1.0


def test_selection_record_matches_the_evaluation(first_run, output_dir):
    result, nodes = first_run
    metrics = _evaluation_metrics(nodes)
    selection = _selection(nodes)
    candidate_accuracy = metrics["candidate"]["binary_accuracy"]
    baseline_accuracy = metrics["baseline"]["binary_accuracy"]
    assert selection["candidate_value"] == candidate_accuracy
    assert selection["baseline_value"] == baseline_accuracy
    if candidate_accuracy != baseline_accuracy:
        assert selection["winner"] == ("gc" if candidate_accuracy > baseline_accuracy else "baseline")
    blessing = nodes["ModelSelection"].output("blessing")
    assert metadata_reader.custom_property(blessing, "winner") == selection["winner"]
    assert metadata_reader.custom_property(blessing, "blessed") == 1
    assert "Winner:" in result.stdout and f"{candidate_accuracy:.4f}" in result.stdout


def _encode(array: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


def test_pushed_model_serves_new_images_of_any_size(first_run, output_dir):
    result, nodes = first_run
    pushed = nodes["Pusher"].output("pushed_model")
    destination = metadata_reader.custom_property(pushed, "pushed_destination")
    assert metadata_reader.custom_property(pushed, "pushed") == 1
    assert os.path.dirname(destination) == os.path.join(os.path.abspath(output_dir), "serving_model")
    assert destination in result.stdout

    rng = np.random.default_rng(9)
    images = [_encode(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), "PNG"),
              _encode(rng.integers(0, 256, (77, 140, 3), dtype=np.uint8), "JPEG"),
              _encode(rng.integers(0, 256, (500, 320), dtype=np.uint8), "PNG")]
    examples = [tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image]))})).SerializeToString()
        for image in images]
    served = tf.saved_model.load(destination)
    from_images = served.signatures["predict_images"](images=tf.constant(images))["probability"].numpy()
    from_examples = served.signatures["serving_default"](examples=tf.constant(examples))["probability"].numpy()

    assert from_images.shape == (3, 1)
    np.testing.assert_allclose(from_images, from_examples, rtol=1e-5, atol=1e-6)
    assert np.all((from_images >= 0.0) & (from_images <= 1.0))


def test_second_run_is_served_from_the_cache(cached_run):
    _, nodes = cached_run
    assert {node.node_id: node.state for node in nodes.values()} == {node: "CACHED" for node in EXPECTED_NODES}


def test_impossible_floor_pushes_nothing_and_says_why(impossible_floor_run, output_dir):
    result, nodes = impossible_floor_run
    selection = _selection(nodes)
    assert selection["winner"] is None and selection["should_push"] is False
    assert "floor" in selection["reason"]
    assert metadata_reader.custom_property(nodes["ModelSelection"].output("blessing"), "blessed") == 0
    assert metadata_reader.custom_property(nodes["Pusher"].output("pushed_model"), "pushed", 0) == 0
    assert "Nothing was pushed." in result.stdout
    assert len(os.listdir(os.path.join(output_dir, "serving_model"))) == 1  # only the first run's push


def test_a_failing_component_is_named_in_one_paragraph_without_a_stack_trace(tmp_path):
    data_root = tmp_path / "no_test_humans"
    image_fixtures.write_clean_data_folder(str(data_root), train_per_class=4, test_per_class=2)
    for path in (data_root / "test" / "humans").iterdir():
        path.unlink()

    result = _gc_tfx("run", "--data", str(data_root), "--output", str(tmp_path / "out"), "--image-size",
                     str(IMAGE_SIZE), "--eval-percent", "50", "--beam-workers", "1")

    assert result.returncode == 1, result.stderr
    assert "gc-tfx: error: component ImageExampleGen failed:" in result.stderr, result.stderr[-2000:]
    assert "'test'" in result.stderr and "'humans'" in result.stderr
    assert "Traceback" not in result.stderr
