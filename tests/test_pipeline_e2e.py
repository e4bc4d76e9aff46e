"""`gc-tfx run` end to end on tiny generated data: real TFX components, Beam, ML Metadata and SavedModels.

The session's shared run (tests/shared_run.py) feeds these tests: a first run, an identical second one that must
come from the cache, and one with an impossible quality floor that must rerun only the selection and push nothing.
"""
import csv
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import image_fixtures
import shared_run
from components.model_selection import tfma_metrics
from components.model_selection.selection_record import SelectionRecord
from report import metadata_reader
from trainer.training_record import TrainingRecord

pytestmark = pytest.mark.e2e

EXPECTED_NODES = shared_run.EXPECTED_NODES


def _evaluation_metrics(nodes):
    return tfma_metrics.load_overall_metrics_by_model(nodes["Evaluator"].output("evaluation").uri)


def _selection(nodes) -> SelectionRecord:
    with open(os.path.join(nodes["ModelSelection"].output("blessing").uri, "selection.json")) as selection_file:
        return SelectionRecord.from_json(selection_file.read())


def test_the_console_shows_one_line_per_trainer_epoch_and_no_library_warning(first_run):
    for method in ("gc", "baseline"):
        for epoch in (1, 2):
            assert f"\n    {method}: epoch {epoch}/2, loss " in first_run.console
    assert "s/step" not in first_run.console  # Keras' own epoch lines
    assert "Warning" not in first_run.console


def test_every_component_ran_once_and_both_trainers_trained(first_run):
    nodes = first_run.nodes
    assert set(nodes) == EXPECTED_NODES
    assert {node.node_id: node.state for node in nodes.values()} == {node: "COMPLETE" for node in EXPECTED_NODES}
    assert sorted(node_id for node_id in nodes if "trainer" in node_id) == ["trainer_baseline", "trainer_gc"]


def test_every_file_is_ingested_or_rejected_with_a_reason(first_run, shared_data):
    nodes = first_run.nodes
    examples_uri = nodes["ImageExampleGen"].output("examples").uri
    with open(os.path.join(examples_uri, "rejected.csv"), newline="") as rejected_file:
        rejected = {row["path"]: row for row in csv.DictReader(rejected_file)}
    with open(os.path.join(examples_uri, "ingestion_summary.json")) as summary_file:
        summary = json.load(summary_file)

    assert shared_run.REJECTED_PATHS <= set(rejected)
    assert all(rejected[path]["reason"] for path in shared_run.REJECTED_PATHS)
    image_files = shared_run.image_files(shared_data)
    ingested = summary["ingested_total"]
    assert ingested + len([path for path in image_files if path in rejected]) == len(image_files)
    assert ingested == len(image_files) - len(shared_run.REJECTED_PATHS)


def test_both_trainers_started_from_the_same_weights_and_only_gc_differs(first_run):
    nodes = first_run.nodes
    records = {}
    for trainer_id in ("trainer_gc", "trainer_baseline"):
        model_run_uri = nodes[trainer_id].output("model_run").uri
        with open(os.path.join(model_run_uri, "training_record.json")) as record_file:
            records[trainer_id] = TrainingRecord.from_json(record_file.read())
    gc_record, baseline_record = records["trainer_gc"], records["trainer_baseline"]
    assert gc_record.initial_weights_sha256 == baseline_record.initial_weights_sha256
    assert (gc_record.settings.method, baseline_record.settings.method) == ("gc", "baseline")
    assert gc_record.settings.training == baseline_record.settings.training
    assert (gc_record.settings.training.epochs, gc_record.settings.training.seed) == (2, shared_run.SEED)
    assert "GC" in gc_record.optimizer and "GC" not in baseline_record.optimizer
    assert len(gc_record.epoch_seconds) == 2 and len(gc_record.history["val_loss"]) == 2
    for record in records.values():  # the whole fit() holds its epochs; the export is timed on its own
        assert 0 < sum(record.epoch_seconds) <= record.fit_seconds and record.export_seconds > 0
    assert any(name.startswith("events.out.tfevents") for _, _, names in
               os.walk(nodes["trainer_gc"].output("model_run").uri) for name in names)


def test_evaluator_reports_metrics_for_both_models_on_the_test_split(first_run, shared_data):
    metrics = _evaluation_metrics(first_run.nodes)
    test_images = [path for path in shared_run.image_files(shared_data) if path.startswith("test/")]
    for model_name in ("gc", "baseline"):
        assert {"binary_accuracy", "auc", "precision", "recall", "binary_crossentropy", "example_count"} <= set(
            metrics[model_name])
        assert metrics[model_name]["example_count"] == len(set(test_images) - shared_run.REJECTED_PATHS)
        assert 0.0 <= metrics[model_name]["binary_accuracy"] <= 1.0


def test_selection_record_matches_the_evaluation(first_run):
    nodes = first_run.nodes
    metrics = _evaluation_metrics(nodes)
    decision = _selection(nodes).decision
    gc_accuracy = metrics["gc"]["binary_accuracy"]
    baseline_accuracy = metrics["baseline"]["binary_accuracy"]
    assert (decision.gc_value, decision.baseline_value) == (gc_accuracy, baseline_accuracy)
    if gc_accuracy != baseline_accuracy:
        assert decision.winner == ("gc" if gc_accuracy > baseline_accuracy else "baseline")
    blessing = nodes["ModelSelection"].output("blessing")
    assert metadata_reader.custom_property(blessing, "winner") == decision.winner
    assert metadata_reader.custom_property(blessing, "blessed") == 1
    assert "Winner:" in first_run.console and f"{gc_accuracy:.4f}" in first_run.console


def _encode(array: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


def test_pushed_model_serves_new_images_of_any_size(first_run):
    pushed = first_run.nodes["Pusher"].output("pushed_model")
    destination = metadata_reader.custom_property(pushed, "pushed_destination")
    assert metadata_reader.custom_property(pushed, "pushed") == 1
    assert os.path.dirname(destination) == os.path.join(os.path.abspath(first_run.output), "serving_model")
    assert destination in first_run.console

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
    assert {node.node_id: node.state for node in cached_run.nodes.values()} == {
        node: "CACHED" for node in EXPECTED_NODES}


def test_impossible_floor_reruns_only_the_selection_pushes_nothing_and_says_why(impossible_floor_run):
    nodes = impossible_floor_run.nodes
    # The floor is a parameter of the selection only: the Evaluator's config does not depend on it.
    assert {node_id for node_id, node in nodes.items() if node.state != "CACHED"} == {"ModelSelection", "Pusher"}
    selection = _selection(nodes)
    assert selection.decision.winner is None and selection.should_push is False
    assert "floor" in selection.decision.reason
    assert metadata_reader.custom_property(nodes["ModelSelection"].output("blessing"), "blessed") == 0
    assert metadata_reader.custom_property(nodes["Pusher"].output("pushed_model"), "pushed", 0) == 0
    assert "Nothing was pushed." in impossible_floor_run.console
    assert len(os.listdir(os.path.join(impossible_floor_run.output, "serving_model"))) == 1  # the first run's


def test_a_failing_component_is_named_in_one_paragraph_without_a_stack_trace(tmp_path):
    data_root = tmp_path / "no_test_humans"
    image_fixtures.write_clean_data_folder(str(data_root), train_per_class=4, test_per_class=2)
    for path in (data_root / "test" / "humans").iterdir():
        path.unlink()

    result = shared_run.gc_tfx("run", "--data", str(data_root), "--output", str(tmp_path / "out"), "--image-size",
                               str(shared_run.IMAGE_SIZE), "--eval-percent", "50", "--beam-workers", "1")

    assert result.returncode == 1, result.stderr
    assert "gc-tfx: error: component ImageExampleGen failed:" in result.stderr, result.stderr[-2000:]
    assert "'test'" in result.stderr and "'humans'" in result.stderr
    assert "Traceback" not in result.stderr
