"""`gc-tfx run` end to end on tiny generated data: real TFX components, Beam, ML Metadata and SavedModels.

The session's shared run (tests/shared_run.py) feeds these tests: a first run, an identical second one that must
come from the cache but for the selection (which keeps the serving model: a tie), and one with an impossible
quality floor that must rerun only the selection and push nothing.
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
from report import tfma_results
from results.selection import SelectionRecord
from cli import metadata_reader
from trainer.training_record import TrainingRecord

pytestmark = pytest.mark.e2e

EXPECTED_NODES = shared_run.EXPECTED_NODES


def _evaluation_metrics(nodes, seed: int):
    return tfma_results.load_overall_metrics_by_model(
        nodes[shared_run.EVALUATOR_IDS[seed]].output("evaluation").uri)


def _training_record(nodes, method: str, seed: int) -> TrainingRecord:
    model_run_uri = nodes[shared_run.TRAINER_IDS[method, seed]].output("model_run").uri
    with open(os.path.join(model_run_uri, "training_record.json")) as record_file:
        return TrainingRecord.from_json(record_file.read())


def _selection(nodes) -> SelectionRecord:
    with open(os.path.join(nodes["ModelSelection"].output("blessing").uri, "selection.json")) as selection_file:
        return SelectionRecord.from_json(selection_file.read())


def test_the_console_shows_one_line_per_trainer_epoch_and_no_library_warning(first_run):
    for method in ("gc", "baseline"):
        for seed in shared_run.SEEDS:
            for epoch in (1, 2):
                assert f"\n    {method} seed {seed}: epoch {epoch}/2, loss " in first_run.console
    assert "s/step" not in first_run.console  # Keras' own epoch lines
    assert "Warning" not in first_run.console


def test_every_component_ran_once_two_seeds_four_trainers_one_evaluator_per_pair(first_run):
    nodes = first_run.nodes
    assert set(nodes) == EXPECTED_NODES
    assert {node.node_id: node.state for node in nodes.values()} == {node: "COMPLETE" for node in EXPECTED_NODES}
    assert len([node_id for node_id in nodes if node_id.startswith("trainer_")]) == 4
    assert len([node_id for node_id in nodes if node_id.startswith("evaluator_")]) == 2


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


def test_each_pair_starts_from_the_same_weights_and_pairs_differ(first_run):
    records = {(method, seed): _training_record(first_run.nodes, method, seed)
               for method in ("gc", "baseline") for seed in shared_run.SEEDS}
    first, second = shared_run.SEEDS
    for seed in shared_run.SEEDS:
        gc_record, baseline_record = records["gc", seed], records["baseline", seed]
        assert gc_record.initial_weights_sha256 == baseline_record.initial_weights_sha256
        assert (gc_record.settings.method, baseline_record.settings.method) == ("gc", "baseline")
        assert gc_record.settings.training == baseline_record.settings.training
        assert (gc_record.settings.training.epochs, gc_record.settings.training.seed) == (2, seed)
        assert "GC" in gc_record.optimizer and "GC" not in baseline_record.optimizer
        assert len(gc_record.epoch_seconds) == 2 and len(gc_record.history["val_loss"]) == 2
    assert records["gc", first].initial_weights_sha256 != records["gc", second].initial_weights_sha256
    for record in records.values():  # the whole fit() holds its epochs; the export is timed on its own
        assert 0 < sum(record.epoch_seconds) <= record.fit_seconds and record.export_seconds > 0


def test_tensorboard_logs_gc_as_a_hyperparameter(first_run):
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    for (method, seed), node_id in shared_run.TRAINER_IDS.items():
        model_run_uri = first_run.nodes[node_id].output("model_run").uri
        accumulator = event_accumulator.EventAccumulator(model_run_uri)
        accumulator.Reload()
        content = accumulator.PluginTagToContent("hparams")
        session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
        hparams = session.session_start_info.hparams
        assert set(hparams) == {"gc"}
        assert hparams["gc"].bool_value is (method == "gc")


def test_evaluators_report_metrics_for_both_models_on_the_test_split(first_run, shared_data):
    test_images = [path for path in shared_run.image_files(shared_data) if path.startswith("test/")]
    for seed in shared_run.SEEDS:
        metrics = _evaluation_metrics(first_run.nodes, seed)
        for model_name in ("gc", "baseline"):
            assert {"binary_accuracy", "auc", "precision", "recall", "binary_crossentropy", "example_count"} <= set(
                metrics[model_name])
            assert metrics[model_name]["example_count"] == len(set(test_images) - shared_run.REJECTED_PATHS)
            assert 0.0 <= metrics[model_name]["binary_accuracy"] <= 1.0


def test_study_follows_from_the_evaluations_and_exactly_one_trained_model_is_pushed(first_run):
    nodes = first_run.nodes
    selection = _selection(nodes)
    study = selection.study
    assert [seed.seed for seed in study.seeds] == list(shared_run.SEEDS)
    for seed in study.seeds:
        metrics = _evaluation_metrics(nodes, seed.seed)
        assert (seed.gc, seed.baseline) == (metrics["gc"]["binary_accuracy"], metrics["baseline"]["binary_accuracy"])
        # McNemar's counts come from the models' own predictions; they reproduce TFMA's accuracy difference.
        assert (seed.gc_only - seed.baseline_only) / seed.examples == pytest.approx(seed.difference, abs=1e-6)
    differences = [seed.difference for seed in study.seeds]
    assert study.mean_difference == pytest.approx(np.mean(differences))
    low, high = study.interval_95
    assert low <= study.mean_difference <= high
    assert study.verdict == ("gc_better" if low > 0 else "gc_worse" if high < 0 else "no_detectable_difference")

    choice = selection.choice
    assert choice.method == ("gc" if study.verdict == "gc_better" else "baseline")
    eligible = [c for c in selection.candidates if c.method == choice.method]
    assert max(c.eval_accuracy for c in eligible) == next(
        c.eval_accuracy for c in eligible if c.seed == choice.seed)
    trained = nodes[shared_run.TRAINER_IDS[choice.method, choice.seed]].output("model").uri
    assert selection.selected_from == trained
    blessing = nodes["ModelSelection"].output("blessing")
    assert metadata_reader.custom_property(blessing, "verdict") == study.verdict
    assert metadata_reader.custom_property(blessing, "blessed") == 1
    serving = os.listdir(os.path.join(first_run.output, "serving_model"))
    assert len(serving) == 1
    pushed_model = os.path.join(first_run.output, "serving_model", serving[0])
    with open(os.path.join(pushed_model, "saved_model.pb"), "rb") as pushed, open(
            os.path.join(trained, "Format-Serving", "saved_model.pb"), "rb") as original:
        assert pushed.read() == original.read()


def test_the_console_ends_with_the_seeds_the_interval_and_the_verdict(first_run):
    study = _selection(first_run.nodes).study
    console = first_run.console
    for seed in study.seeds:
        assert f"seed {seed.seed}" in console and f"{seed.gc:.4f}" in console and f"{seed.baseline:.4f}" in console
    assert f"95% interval [{study.interval_95[0]:+.4f}, {study.interval_95[1]:+.4f}]" in console
    assert "Verdict: " in console
    assert "cannot reach p < 0.05" in console  # two seeds: the exact test's smallest p is 0.5


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


def test_an_identical_second_run_comes_from_the_cache_and_keeps_the_serving_model(first_run, cached_run):
    # All but the selection, which compares with what serves now, and the Pusher it feeds.
    assert {node.node_id: node.state for node in cached_run.nodes.values()} == {
        node: "COMPLETE" if node in shared_run.RERUN_NODES else "CACHED" for node in EXPECTED_NODES}
    # The same model scores the same as its serving copy: a tie keeps the serving one, and the console says so
    # with both scores.
    first, second = _selection(first_run.nodes).choice, _selection(cached_run.nodes).choice
    assert (second.method, second.seed, second.test_value) == (first.method, first.seed, first.test_value)
    serving_versions = os.listdir(os.path.join(cached_run.output, "serving_model"))
    assert len(serving_versions) == 1
    assert second.serving.version == serving_versions[0]
    assert second.serving.test_value == pytest.approx(first.test_value, abs=1e-6)
    assert second.should_push is False
    assert second.reason in cached_run.console and "Nothing was pushed." in cached_run.console
    assert f"the serving model (version {serving_versions[0]})" in second.reason
    assert metadata_reader.custom_property(cached_run.nodes["Pusher"].output("pushed_model"), "pushed", 0) == 0


def test_impossible_floor_reruns_only_the_selection_pushes_nothing_and_says_why(impossible_floor_run):
    nodes = impossible_floor_run.nodes
    # The floor is a parameter of the selection only: the Evaluator's config does not depend on it.
    assert {node_id for node_id, node in nodes.items() if node.state != "CACHED"} == shared_run.RERUN_NODES
    selection = _selection(nodes)
    assert selection.should_push is False
    assert "floor" in selection.choice.reason
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
