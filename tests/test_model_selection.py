"""Model selection: the push rule as tables, the TFMA reader, the predictions, the component on its own, its
Kubeflow compilation, and a real TFX pipeline.

The component and pipeline tests use tiny Examples (eval and test splits) and constant-output tf_keras models, so
every number the component computes (accuracies, discordant pairs, McNemar's p, the verdict, the chosen seed) is
known in advance.
"""
import glob
import json
import math
import os
from typing import Dict, List, Mapping, Sequence

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
import tf_keras
import yaml
from ml_metadata.metadata_store import metadata_store
from tensorflow_model_analysis.proto import metrics_for_slice_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils, standard_artifacts

from components.model_selection import component as selection_component
from components.model_selection import predictions, rules, serving_model
from components.model_selection.component import ModelSelection
from components.model_selection.rules import choose_model
from local_runner import compile_pipeline
from report import tfma_results
from results import paired_statistics
from results.selection import SELECTION_FILE, Candidate, SelectionRecord, ServingModel
from trainer.config import BASELINE, GC, TrainerSettings, TrainingConfig
from trainer.training_record import TRAINING_RECORD_FILE, TrainingRecord

NAN = float("nan")


# --- the push rule ----------------------------------------------------------------------------------------------


def _candidates(rows: Sequence[tuple]) -> List[Candidate]:
    """(method, seed, eval accuracy, eval log loss, test value) rows."""
    fields = ("method", "seed", "eval_accuracy", "eval_log_loss", "test_value")
    return [Candidate(**dict(zip(fields, row))) for row in rows]


CANDIDATES = _candidates([
    (GC, 1, 0.80, 0.40, 0.90), (BASELINE, 1, 0.85, 0.35, 0.70),
    (GC, 2, 0.90, 0.30, 0.80), (BASELINE, 2, 0.85, 0.30, 0.95),
    (GC, 3, 0.90, 0.25, 0.75), (BASELINE, 3, 0.70, 0.50, 0.99),
])


@pytest.mark.parametrize("verdict, floor, method, seed, pushed, reason_start", [
    # GC better: among GC seeds the best eval accuracy is 0.90 (seeds 2 and 3); log loss picks seed 3, although
    # seed 1 has the best *test* value: the test split never picks a seed.
    (paired_statistics.GC_BETTER, 0.5, GC, 3, True, "Pushed gc (GC is better; seed 3 has the best eval"),
    # Worse or no difference: the baseline; eval accuracy ties at 0.85 (seeds 1, 2), log loss picks seed 2.
    (paired_statistics.GC_WORSE, 0.5, BASELINE, 2, True, "Pushed baseline (the baseline stays"),
    (paired_statistics.NO_DETECTABLE_DIFFERENCE, 0.5, BASELINE, 2, True, "Pushed baseline (the baseline stays"),
    # The floor holds on the chosen model's test value, exactly at it passes.
    (paired_statistics.GC_BETTER, 0.75, GC, 3, True, "Pushed gc"),
    (paired_statistics.GC_BETTER, 0.76, GC, 3, False, "Nothing pushed: the chosen model, gc seed 3, has test"),
])
def test_choose_model(verdict, floor, method, seed, pushed, reason_start):
    choice = choose_model(verdict, CANDIDATES, floor)
    assert (choice.method, choice.seed, choice.should_push) == (method, seed, pushed)
    assert choice.reason.startswith(reason_start), choice.reason
    assert choice.test_value == next(c.test_value for c in CANDIDATES if (c.method, c.seed) == (method, seed))


def test_equal_eval_scores_pick_the_lowest_seed():
    candidates = _candidates([(BASELINE, 7, 0.5, 0.6, 0.5), (BASELINE, 4, 0.5, 0.6, 0.6)])
    assert choose_model(paired_statistics.GC_WORSE, candidates, 0.0).seed == 4


def _serving(test_value: float) -> ServingModel:
    return rules.ServingModel(path="/srv/models/7", version="7", test_value=test_value)


# With no detectable difference the baseline of seed 2 is chosen (test value 0.95), as above.
@pytest.mark.parametrize("serving, force, floor, pushed, forced, reason", [
    (_serving(0.90), False, 0.5, True, False,
     "Pushed baseline (the baseline stays unless GC is better; seed 2 has the best eval accuracy 0.85): test "
     "binary_accuracy 0.95 meets the floor 0.5 and beats the serving model's 0.9 (version 7, on this run's test "
     "split)."),
    # A tie keeps the serving model, also within float32 rounding of it.
    (_serving(0.95), False, 0.5, False, False,
     "Nothing pushed: the chosen model, baseline seed 2, scores test binary_accuracy 0.95 on this run's test "
     "split, the serving model (version 7) 0.95; only a higher score replaces it (--force-push pushes anyway)."),
    (_serving(0.95 - 5e-7), False, 0.5, False, False, "Nothing pushed: the chosen model, baseline seed 2"),
    (_serving(0.99), False, 0.5, False, False, "Nothing pushed: the chosen model, baseline seed 2, scores test "
                                               "binary_accuracy 0.95 on this run's test split, the serving model "
                                               "(version 7) 0.99;"),
    # --force-push overrides the guard, and says so; it is not "forced" when the model wins anyway.
    (_serving(0.99), True, 0.5, True, True,
     "Pushed baseline (the baseline stays unless GC is better; seed 2 has the best eval accuracy 0.85), forced by "
     "--force-push: test binary_accuracy 0.95 does not beat the serving model's 0.99 (version 7, on this run's "
     "test split)."),
    (_serving(0.90), True, 0.5, True, False, "Pushed baseline"),
    # The floor holds whatever serves and whatever is forced.
    (_serving(0.10), True, 0.96, False, False, "Nothing pushed: the chosen model, baseline seed 2, has test "
                                               "binary_accuracy 0.95, below the floor 0.96."),
    (None, True, 0.5, True, False, "Pushed baseline"),
])
def test_choose_model_against_the_serving_model(serving, force, floor, pushed, forced, reason):
    choice = choose_model(paired_statistics.NO_DETECTABLE_DIFFERENCE, CANDIDATES, floor, serving=serving,
                          force_push=force)
    assert (choice.method, choice.seed) == (BASELINE, 2)
    assert (choice.should_push, choice.forced, choice.serving) == (pushed, forced, serving)
    assert choice.reason.startswith(reason), choice.reason


@pytest.mark.parametrize("verdict, candidates, floor, message", [
    ("gc_maybe", CANDIDATES, 0.5, "Unknown verdict 'gc_maybe'"),
    (paired_statistics.GC_BETTER, CANDIDATES[1::2], 0.5, "No gc model among the candidates"),
    (paired_statistics.GC_BETTER, _candidates([(GC, 1, NAN, 0.1, 0.5)]), 0.5, "seed 1 has a NaN score"),
    (paired_statistics.GC_BETTER, CANDIDATES, NAN, "quality_floor must be a number"),
])
def test_choose_model_rejects(verdict, candidates, floor, message):
    with pytest.raises(ValueError, match=message):
        choose_model(verdict, candidates, floor)


def test_seeds_parameter_round_trips_and_rejects_duplicates():
    assert selection_component.parse_seeds(selection_component.format_seeds([42, 43, 7])) == [42, 43, 7]
    with pytest.raises(ValueError, match="distinct"):
        selection_component.parse_seeds("3,3")


# --- TFMA metrics -----------------------------------------------------------------------------------------------


def _metrics_for_slice(values: Mapping[str, Mapping[str, float]],
                       **key_fields) -> metrics_for_slice_pb2.MetricsForSlice:
    """A TFMA record: {model_name: {metric: value}}, each key extended by `key_fields` (e.g. is_diff=True)."""
    record = metrics_for_slice_pb2.MetricsForSlice(slice_key=metrics_for_slice_pb2.SliceKey())
    for model_name, metrics in values.items():
        for name, value in metrics.items():
            record.metric_keys_and_values.add(
                key=metrics_for_slice_pb2.MetricKey(name=name, model_name=model_name, **key_fields),
                value=metrics_for_slice_pb2.MetricValue(double_value={"value": value}))
    return record


def _evaluation_records(gc: Mapping[str, float],
                        baseline: Mapping[str, float]) -> List[metrics_for_slice_pb2.MetricsForSlice]:
    """Records shaped like the Evaluator's: overall slice with diffs and breakdowns, plus a feature slice."""
    overall = _metrics_for_slice({GC: gc, BASELINE: baseline})
    overall.metric_keys_and_values.extend(_metrics_for_slice(
        {GC: {name: 1.0 for name in gc}}, is_diff=True).metric_keys_and_values)
    overall.metric_keys_and_values.extend(_metrics_for_slice(
        {GC: {"precision": 2.0}}, sub_key={"top_k": {"value": 1}}).metric_keys_and_values)
    overall.metric_keys_and_values.add(
        key=metrics_for_slice_pb2.MetricKey(name="confusion_matrix_at_thresholds", model_name=GC),
        value=metrics_for_slice_pb2.MetricValue(confusion_matrix_at_thresholds={}))
    sliced = _metrics_for_slice({GC: {"binary_accuracy": 3.0}})
    sliced.slice_key.single_slice_keys.add(column="label", int64_value=1)
    cross_sliced = _metrics_for_slice({GC: {"binary_accuracy": 4.0}})
    cross_sliced.cross_slice_key.SetInParent()
    return [sliced, cross_sliced, overall]


def test_overall_metrics_by_model_keeps_only_overall_scalars():
    records = _evaluation_records({"binary_accuracy": 0.75, "auc": 0.5}, {"binary_accuracy": 0.25, "precision": NAN})
    metrics = tfma_results.overall_metrics_by_model(records)
    assert metrics[GC] == {"binary_accuracy": 0.75, "auc": 0.5}
    assert list(metrics[BASELINE]) == ["binary_accuracy", "precision"]
    assert metrics[BASELINE]["binary_accuracy"] == 0.25
    assert math.isnan(metrics[BASELINE]["precision"])


def test_overall_metrics_by_model_rejects_duplicates_and_missing_overall_slice():
    duplicate = _metrics_for_slice({GC: {"auc": 0.5}})
    weighted = _metrics_for_slice({GC: {"auc": 0.6}}, example_weighted={"value": True})
    duplicate.metric_keys_and_values.extend(weighted.metric_keys_and_values)
    with pytest.raises(ValueError, match="Metric 'auc' of model 'gc' appears twice .* example_weighted True"):
        tfma_results.overall_metrics_by_model([duplicate])
    sliced_only = _evaluation_records({"auc": 0.5}, {"auc": 0.5})[:2]
    with pytest.raises(ValueError, match="None of the 2 TFMA metrics records is for the overall slice"):
        tfma_results.overall_metrics_by_model(sliced_only)


def test_metrics_of_model_names_the_models_found():
    with pytest.raises(ValueError, match=r"no metrics for model 'baseline', only for \[''\]"):
        tfma_results.metrics_of_model({"": {"auc": 0.5}}, BASELINE)


def _write_evaluation(uri: str, gc: Mapping[str, float], baseline: Mapping[str, float]) -> None:
    """Writes records where the Evaluator does: TFRecords named metrics-* in the ModelEvaluation folder."""
    os.makedirs(uri, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(uri, "metrics-00000-of-00001.tfrecord")) as writer:
        for record in _evaluation_records(gc, baseline):
            writer.write(record.SerializeToString())


def test_load_overall_metrics_by_model_reads_tfma_files(tmp_path):
    _write_evaluation(str(tmp_path), {"binary_accuracy": 0.75}, {"binary_accuracy": 0.5})
    assert tfma_results.load_overall_metrics_by_model(str(tmp_path)) == {
        GC: {"binary_accuracy": 0.75}, BASELINE: {"binary_accuracy": 0.5}}


# --- predictions and the component on its own -----------------------------------------------------------------

LABELS = {"eval": (1, 0, 1, 0), "test": (1, 1, 1, 0)}
FIRST_X = {"test": 0, "eval": 4}  # example x = FIRST_X + index, so a model can answer each example differently


def _serialized_example(x: float, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


def _export_threshold_model(export_dir: str, probabilities: Sequence[float]) -> None:
    """A tf_keras model, served from tf.Examples, whose output for the example with x = i is probabilities[i]."""
    inputs = tf_keras.Input(shape=(1,), name="x")
    table = tf.constant(list(probabilities), tf.float32)
    outputs = tf_keras.layers.Lambda(lambda x: tf.reshape(tf.gather(table, tf.cast(x[:, 0], tf.int32)), (-1, 1)))(
        inputs)
    model = tf_keras.Model(inputs, outputs)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(examples):
        parsed = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([1], tf.float32)})
        return {"probability": model(parsed["x"])}

    tf.saved_model.save(model, export_dir, signatures={"serving_default": serve})


def _write_split(folder: str, split: str) -> None:
    """Gzipped TFRecords, as ExampleGen writes a split."""
    os.makedirs(folder, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(folder, "data_tfrecord-00000-of-00001.gz"),
                              options=tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        for index, label in enumerate(LABELS[split]):
            writer.write(_serialized_example(float(FIRST_X[split] + index), label))


def _examples_artifact(uri: str) -> standard_artifacts.Examples:
    examples = standard_artifacts.Examples()
    examples.uri = uri
    examples.split_names = artifact_utils.encode_split_names(list(LABELS))
    for split in LABELS:
        _write_split(os.path.join(uri, f"Split-{split}"), split)
    return examples


def _model_artifact(uri: str, artifact_id: int, probabilities: Sequence[float],
                    old_layout: bool = False) -> standard_artifacts.Model:
    """A Model artifact as ML Metadata hands it over. Trainer outputs carry a TFX version (layout Format-Serving/);
    Importer outputs do not (serving_model_dir/)."""
    model = standard_artifacts.Model()
    model.uri, model.id = uri, artifact_id
    model.mlmd_artifact.state = model.mlmd_artifact.LIVE
    if not old_layout:
        model.set_string_custom_property(artifact_utils.ARTIFACT_TFX_VERSION_CUSTOM_PROPERTY_KEY, tfx.__version__)
    _export_threshold_model(os.path.join(uri, "serving_model_dir" if old_layout else "Format-Serving"),
                            probabilities)
    return model


def test_predictions_read_a_split_and_score_it_as_keras_does(tmp_path):
    examples = _examples_artifact(str(tmp_path / "examples"))
    model = _model_artifact(str(tmp_path / "model"), 1, (0.9, 0.4, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5))
    split = predictions.load_split(examples, "test")
    assert split.labels.tolist() == [1, 1, 1, 0]
    probability = predictions.probabilities(model, split)
    np.testing.assert_allclose(probability, [0.9, 0.4, 0.6, 0.5], rtol=1e-6)
    # Exactly 0.5 predicts horses (0), as Keras' BinaryAccuracy counts it.
    assert predictions.correct(probability, split.labels).tolist() == [True, False, True, True]
    keras = tf_keras.metrics.BinaryAccuracy()
    keras.update_state(split.labels.astype(float), probability)
    assert float(keras.result()) == predictions.correct(probability, split.labels).mean()


# Per seed: (GC probabilities, baseline probabilities) for x = 0..3 (test, labels 1, 1, 1, 0) and x = 4..7 (eval,
# labels 1, 0, 1, 0). Test: seed 1 GC right on all 4, baseline on 2 (wrong on x=1, x=3): +0.5, discordant 2 / 0;
# seed 2 GC right on 3 (wrong on x=2), baseline on 2: +0.25, discordant 2 / 1. Eval: seed 1 GC 3 of 4,
# baseline 2 of 4; seed 2 GC 3 of 4, baseline 3 of 4. Only seed 2's baseline answers 0.15 for x = 7.
PROBABILITIES = {
    1: ((0.9, 0.8, 0.7, 0.1, 0.9, 0.1, 0.2, 0.1), (0.9, 0.2, 0.7, 0.9, 0.9, 0.6, 0.2, 0.1)),
    2: ((0.9, 0.8, 0.2, 0.1, 0.9, 0.1, 0.8, 0.6), (0.9, 0.2, 0.7, 0.9, 0.9, 0.1, 0.2, 0.15)),
}
# What each Trainer recorded on the eval split after its last epoch, (accuracy, loss): the seed choice reads these,
# never a prediction of its own. Seed 2's baseline has the better eval accuracy of the two baselines.
EVAL_SCORES = {(GC, 1): (0.75, 0.40), (BASELINE, 1): (0.5, 0.70), (GC, 2): (0.75, 0.35), (BASELINE, 2): (0.75, 0.30)}


def _model_run_artifact(uri: str, method: str, seed: int, scores=None) -> standard_artifacts.ModelRun:
    """A Trainer's model_run folder holding a training record whose last epoch scored `scores` on the eval split."""
    accuracy, loss = scores or EVAL_SCORES[method, seed]
    record = TrainingRecord(
        settings=TrainerSettings(method, TrainingConfig(epochs=2, seed=seed)), optimizer="RMSprop",
        strategy="_DefaultDistributionStrategy", replicas=1, global_batch_size=128, initial_weights_sha256="0" * 64,
        history={"loss": [0.9, 0.5], "accuracy": [0.5, 0.7], "val_loss": [0.8, loss],
                 "val_accuracy": [0.25, accuracy]},
        epoch_seconds=[2.0, 1.0], fit_seconds=3.5, export_seconds=1.0)
    os.makedirs(uri, exist_ok=True)
    with open(os.path.join(uri, TRAINING_RECORD_FILE), "w") as record_file:
        record_file.write(record.to_json())
    model_run = standard_artifacts.ModelRun()
    model_run.uri = uri
    return model_run


def _run_selection(tmp_path, tfma_accuracy: Mapping[int, Dict[str, float]], quality_floor: float,
                   old_layout: bool = False, serving_model_dir: str = "", force_push: int = 0,
                   eval_scores=None):
    examples = _examples_artifact(str(tmp_path / "examples"))
    input_dict = {selection_component.EXAMPLES_KEY: [examples]}
    for seed, (gc_probabilities, baseline_probabilities) in PROBABILITIES.items():
        evaluation = standard_artifacts.ModelEvaluation()
        evaluation.uri = str(tmp_path / f"evaluation{seed}")
        _write_evaluation(evaluation.uri, {"binary_accuracy": tfma_accuracy[seed][GC]},
                          {"binary_accuracy": tfma_accuracy[seed][BASELINE]})
        input_dict[selection_component.evaluation_key(seed)] = [evaluation]
        for offset, (method, probabilities) in enumerate(((GC, gc_probabilities),
                                                          (BASELINE, baseline_probabilities))):
            input_dict[selection_component.model_key(method, seed)] = [_model_artifact(
                str(tmp_path / f"{method}{seed}"), 10 * seed + offset, probabilities, old_layout)]
            input_dict[selection_component.model_run_key(method, seed)] = [_model_run_artifact(
                str(tmp_path / f"{method}{seed}_run"), method, seed, (eval_scores or {}).get((method, seed)))]
    model, blessing = standard_artifacts.Model(), standard_artifacts.ModelBlessing()
    model.uri, blessing.uri = str(tmp_path / "selected"), str(tmp_path / "blessing")
    selection_component.Executor().Do(input_dict, {"model": [model], "blessing": [blessing]}, {
        "seeds": "1,2", "quality_floor": quality_floor,
        "serving_model_dir": serving_model_dir or str(tmp_path / "serving"), "force_push": force_push})
    with open(os.path.join(blessing.uri, SELECTION_FILE)) as selection_file:
        text = selection_file.read()
    return model, blessing, SelectionRecord.from_json(text), json.loads(text)


TFMA_ACCURACY = {1: {GC: 1.0, BASELINE: 0.5}, 2: {GC: 0.75, BASELINE: 0.5}}


def test_component_computes_the_study_and_pushes_the_best_eval_seed(tmp_path):
    model, blessing, selection, document = _run_selection(tmp_path, TFMA_ACCURACY, quality_floor=0.5)
    study = selection.study
    assert [(s.seed, s.gc, s.baseline, s.gc_only, s.baseline_only, s.examples) for s in study.seeds] == [
        (1, 1.0, 0.5, 2, 0, 4), (2, 0.75, 0.5, 2, 1, 4)]
    assert study.seeds[0].mcnemar_p == pytest.approx(0.5)  # 2 of 2 discordant: 2 * (1/2)^2
    assert study.seeds[1].mcnemar_p == pytest.approx(1.0)
    assert study.mean_difference == pytest.approx(0.375)
    # Two seeds: t(0.975, 1) = 12.706, sd = 0.1768, se = 0.125 -> 0.375 +- 1.588: includes 0.
    assert study.interval_95 == pytest.approx((0.375 - 12.706 * 0.125, 0.375 + 12.706 * 0.125), rel=1e-3)
    assert study.verdict == paired_statistics.NO_DETECTABLE_DIFFERENCE
    # The same t test gives p: t = 0.375 / 0.125 = 3 on 1 degree of freedom, whose CDF is 1/2 + atan(t)/pi.
    assert study.p_value == pytest.approx(1 - 2 * math.atan(3) / math.pi)
    assert study.robustness_p == pytest.approx(0.5)  # both positive: 2 of the 4 sign flips are as extreme
    # So the baseline is pushed, as its seed with the better recorded eval accuracy (seed 1's 0.5, seed 2's 0.75).
    assert (selection.choice.method, selection.choice.seed, selection.should_push) == (BASELINE, 2, True)
    assert {(c.method, c.seed): (c.eval_accuracy, c.eval_log_loss) for c in selection.candidates} == EVAL_SCORES
    baseline_uri = str(tmp_path / "baseline2")
    assert selection.selected_from == baseline_uri and model.get_string_custom_property("selected_from") == (
        baseline_uri)
    served = tf.saved_model.load(os.path.join(model.uri, "Format-Serving")).signatures["serving_default"]
    assert float(served(examples=tf.constant([_serialized_example(7.0, 0)]))["probability"][0][0]) == (
        pytest.approx(0.15))
    assert blessing.get_int_custom_property("blessed") == 1
    assert os.path.exists(os.path.join(blessing.uri, "BLESSED"))
    assert blessing.get_string_custom_property("current_model") == baseline_uri
    assert blessing.get_int_custom_property("current_model_id") == 21
    for artifact in (model, blessing):
        assert artifact.get_string_custom_property("verdict") == paired_statistics.NO_DETECTABLE_DIFFERENCE
        assert artifact.get_string_custom_property("method") == BASELINE
        assert artifact.get_int_custom_property("seed") == 2
    # The file a person opens states the derived values too.
    assert document["should_push"] is True and document["study"]["seeds"][0]["difference"] == 0.5
    assert "cannot reach p < 0.05" in document["study"]["seed_caveat"]
    assert document["rule"] == rules.RULE


def test_component_with_unmet_floor_writes_an_unblessed_decision(tmp_path):
    model, blessing, selection, _ = _run_selection(tmp_path, TFMA_ACCURACY, quality_floor=0.9, old_layout=True)
    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    # The output stays a usable Model (renamed to the current layout), which the Pusher refuses by the blessing.
    assert os.path.isfile(os.path.join(model.uri, "Format-Serving", "saved_model.pb"))
    assert not os.path.exists(os.path.join(model.uri, "serving_model_dir"))
    assert selection.should_push is False
    assert selection.choice.reason == ("Nothing pushed: the chosen model, baseline seed 2, has test binary_accuracy "
                                       "0.5, below the floor 0.9.")


def test_the_seed_choice_follows_the_training_records_and_the_test_values_tfma(tmp_path):
    # The records now favour seed 1's baseline; TFMA's test values stand in the study whatever the models predict.
    scores = {(BASELINE, 1): (0.9, 0.2)}
    _, _, selection, _ = _run_selection(tmp_path, {1: {GC: 0.625, BASELINE: 0.5}, 2: {GC: 0.75, BASELINE: 0.5}},
                                        quality_floor=0.0, eval_scores=scores)
    assert (selection.choice.method, selection.choice.seed) == (BASELINE, 1)
    assert [(seed.gc, seed.baseline) for seed in selection.study.seeds] == [(0.625, 0.5), (0.75, 0.5)]
    assert selection.test_metrics["1"][GC] == {"binary_accuracy": 0.625}


def test_a_diverged_training_record_is_an_error_naming_the_model(tmp_path):
    with pytest.raises(ValueError, match="The gc model of seed 2 ended training with an eval-split accuracy 0.5 "
                                         "and loss None: not numbers, so training diverged"):
        _run_selection(tmp_path, TFMA_ACCURACY, quality_floor=0.0, eval_scores={(GC, 2): (0.5, NAN)})


# --- the model serving at the push destination --------------------------------------------------------------


def test_the_newest_numeric_version_serves_and_is_scored_on_this_test_split(tmp_path):
    serving_dir = tmp_path / "serving"
    assert serving_model.score_serving_model(str(serving_dir), None) is None  # no folder yet: nothing serves
    (serving_dir / "README").mkdir(parents=True)  # not a version, as for TF Serving
    assert serving_model.newest_version(str(serving_dir)) is None
    # 10 is newer than 9 although "9" > "10" as text. Version 10 is right on 3 of the 4 test examples.
    _export_threshold_model(str(serving_dir / "9"), (0.9, 0.9, 0.9, 0.1))
    _export_threshold_model(str(serving_dir / "10"), (0.9, 0.9, 0.2, 0.1))
    test = predictions.load_split(_examples_artifact(str(tmp_path / "examples")), "test")
    assert serving_model.score_serving_model(str(serving_dir), test) == ServingModel(
        path=str(serving_dir / "10"), version="10", test_value=0.75)


def _break_version(folder, how: str) -> None:
    folder.mkdir(parents=True)
    if how == "garbage saved_model.pb":
        (folder / "saved_model.pb").write_bytes(b"not a protocol buffer")
    elif how == "other signature":
        tf.saved_model.save(tf.Module(), str(folder), signatures={"predict": tf.function(
            lambda: {"y": tf.constant(1.0)}, input_signature=[])})
    elif how == "other inputs":
        module = tf.Module()
        module.serve = tf.function(lambda pixels: {"probability": pixels},
                                   input_signature=[tf.TensorSpec([None], tf.float32, name="pixels")])
        tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})


@pytest.mark.parametrize("how, message", [
    ("empty folder", r"holds no SavedModel \(no saved_model.pb; a partial copy\?\)"),
    ("garbage saved_model.pb", "cannot be loaded"),
    ("other signature", r"has no serving_default signature \(only \['predict'\]\)"),
    ("other inputs", "cannot predict this run's test examples through serving_default"),
])
def test_a_broken_serving_version_is_an_error_naming_its_folder(tmp_path, how, message):
    serving_dir = tmp_path / "serving"
    _export_threshold_model(str(serving_dir / "1"), (0.9,) * 8)
    _break_version(serving_dir / "2", how)
    test = predictions.load_split(_examples_artifact(str(tmp_path / "examples")), "test")
    with pytest.raises(serving_model.ServingModelError, match=message) as raised:
        serving_model.score_serving_model(str(serving_dir), test)
    assert str(raised.value).startswith(f"The serving model {serving_dir / '2'} ")
    assert str(raised.value).endswith("nothing was pushed. Repair or remove that version folder and rerun.")


def test_a_file_as_push_destination_is_an_error(tmp_path):
    (tmp_path / "serving").write_text("")
    with pytest.raises(serving_model.ServingModelError, match="is a file, not a folder of model versions"):
        serving_model.newest_version(str(tmp_path / "serving"))


def test_component_keeps_a_better_serving_model_unless_forced(tmp_path):
    serving_dir = tmp_path / "serving"
    _export_threshold_model(str(serving_dir / "1700000000"), (0.9, 0.9, 0.9, 0.1) + (0.5,) * 4)  # test 1.0
    _, blessing, selection, document = _run_selection(tmp_path / "kept", TFMA_ACCURACY, quality_floor=0.5,
                                                      serving_model_dir=str(serving_dir))
    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    assert selection.choice.reason == (
        "Nothing pushed: the chosen model, baseline seed 2, scores test binary_accuracy 0.5 on this run's test "
        "split, the serving model (version 1700000000) 1; only a higher score replaces it (--force-push pushes "
        "anyway).")
    assert document["choice"]["serving"] == {"path": str(serving_dir / "1700000000"), "version": "1700000000",
                                             "test_value": 1.0}
    assert blessing.get_string_custom_property("serving_version") == "1700000000"
    assert blessing.get_float_custom_property("serving_test_value") == 1.0
    assert blessing.get_int_custom_property("forced") == 0

    _, blessing, selection, document = _run_selection(tmp_path / "forced", TFMA_ACCURACY, quality_floor=0.5,
                                                      serving_model_dir=str(serving_dir), force_push=1)
    assert blessing.get_int_custom_property("blessed") == 1
    assert selection.choice.forced and document["choice"]["forced"] is True
    assert blessing.get_int_custom_property("forced") == 1
    assert "forced by --force-push" in selection.choice.reason


def test_component_needs_a_pair_for_every_seed():
    channels = {seed: tfx.dsl.Importer(source_uri="gs://b/e", artifact_type=standard_artifacts.ModelEvaluation)
                .with_id(f"e{seed}").outputs["result"] for seed in (1, 2)}
    model = tfx.dsl.Importer(source_uri="gs://b/m", artifact_type=standard_artifacts.Model).outputs["result"]
    pair = {GC: {1: model, 2: model}, BASELINE: {1: model, 2: model}}
    with pytest.raises(ValueError, match=r"a GC and a baseline model for every evaluated seed \[1, 2\]"):
        ModelSelection(examples=model, evaluations=channels, models={GC: {1: model, 2: model}, BASELINE: {1: model}},
                       model_runs=pair, quality_floor=0.5, serving_model_dir="gs://b/serving")
    with pytest.raises(ValueError, match=r"a GC and a baseline model_run for every evaluated seed \[1, 2\]"):
        ModelSelection(examples=model, evaluations=channels, models=pair, model_runs={GC: {1: model}},
                       quality_floor=0.5, serving_model_dir="gs://b/serving")


def test_component_compiles_for_kubeflow_v2(tmp_path):
    def imported(name, artifact_type):
        return tfx.dsl.Importer(source_uri=f"gs://bucket/{name}", artifact_type=artifact_type).with_id(name)

    importers = [imported("examples", standard_artifacts.Examples)]
    evaluations, models, model_runs = {}, {GC: {}, BASELINE: {}}, {GC: {}, BASELINE: {}}
    for seed in (5, 6):
        importers.append(imported(f"evaluation{seed}", standard_artifacts.ModelEvaluation))
        evaluations[seed] = importers[-1].outputs["result"]
        for method in (GC, BASELINE):
            importers.append(imported(f"{method}{seed}", standard_artifacts.Model))
            models[method][seed] = importers[-1].outputs["result"]
            importers.append(imported(f"{method}{seed}_run", standard_artifacts.ModelRun))
            model_runs[method][seed] = importers[-1].outputs["result"]
    selection = ModelSelection(examples=importers[0].outputs["result"], evaluations=evaluations, models=models,
                               model_runs=model_runs, quality_floor=0.6, serving_model_dir="gs://bucket/serving")
    pusher = tfx.components.Pusher(
        model=selection.outputs["model"], model_blessing=selection.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory="gs://bucket/serving")))
    pipeline = tfx.dsl.Pipeline(pipeline_name="selection", pipeline_root="gs://bucket/root",
                                components=[*importers, selection, pusher])
    tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image="gc-tfx:test",
                                                                        use_pipeline_spec_2_1=True),
        output_dir=str(tmp_path), output_filename="pipeline.yaml").run(pipeline, write_out=True)
    with open(tmp_path / "pipeline.yaml") as spec_file:
        spec = yaml.safe_load(spec_file)
    executor = spec["deploymentSpec"]["executors"]["ModelSelection_executor"]["container"]
    assert executor["args"][:2] == ["--executor_class_path", "components.model_selection.component.Executor"]
    task = spec["root"]["dag"]["tasks"]["ModelSelection"]["inputs"]
    assert task["parameters"]["quality_floor"]["runtimeValue"]["constant"] == 0.6
    assert task["parameters"]["seeds"]["runtimeValue"]["constant"] == "5,6"
    assert task["parameters"]["serving_model_dir"]["runtimeValue"]["constant"] == "gs://bucket/serving"
    assert task["parameters"]["force_push"]["runtimeValue"]["constant"] == 0
    assert set(task["artifacts"]) == {"examples", "evaluation_seed5", "evaluation_seed6", "gc_model_seed5",
                                      "baseline_model_seed5", "gc_model_seed6", "baseline_model_seed6",
                                      "gc_model_run_seed5", "baseline_model_run_seed5", "gc_model_run_seed6",
                                      "baseline_model_run_seed6"}


# --- a real pipeline --------------------------------------------------------------------------------------------


# A worse pair for seed 1: both right only on x = 2 of the test split (0.25), so the baseline is chosen again.
WORSE_PROBABILITIES = {1: ((0.1, 0.2, 0.7, 0.9, 0.9, 0.1, 0.8, 0.1), (0.2, 0.1, 0.9, 0.8, 0.9, 0.1, 0.8, 0.1))}


@pytest.fixture(scope="module")
def pipeline_inputs(tmp_path_factory):
    """Examples in two splits and pairs of models on disk, in the Trainer's layout (Format-Serving)."""
    root = tmp_path_factory.mktemp("pipeline")
    for split in LABELS:
        _write_split(str(root / "data" / split), split)
    for models_dir, by_seed in (("models", PROBABILITIES), ("worse_models", WORSE_PROBABILITIES)):
        for seed, pair in by_seed.items():
            for method, probabilities in zip((GC, BASELINE), pair):
                _export_threshold_model(str(root / models_dir / f"{method}{seed}" / "Format-Serving"),
                                        probabilities)
                _model_run_artifact(str(root / models_dir / f"{method}{seed}_run"), method, seed)
    return root


def _run_pipeline(root, quality_floor: float, serving_dir: str, models_dir: str = "models",
                  seeds: Sequence[int] = tuple(PROBABILITIES), force_push: bool = False) -> None:
    example_gen = tfx.components.ImportExampleGen(
        input_base=str(root / "data"),
        input_config=tfx.proto.Input(splits=[tfx.proto.Input.Split(name=split, pattern=f"{split}/*")
                                             for split in LABELS]))
    # The TFX version marks the folder layout as current (Format-Serving), as on every Trainer output.
    importers, models, model_runs, evaluators = [], {GC: {}, BASELINE: {}}, {GC: {}, BASELINE: {}}, {}
    for seed in seeds:
        for method in (GC, BASELINE):
            importers.append(tfx.dsl.Importer(
                source_uri=str(root / models_dir / f"{method}{seed}"), artifact_type=standard_artifacts.Model,
                custom_properties={"tfx_version": tfx.__version__}).with_id(f"import_{method}{seed}"))
            models[method][seed] = importers[-1].outputs["result"]
            importers.append(tfx.dsl.Importer(
                source_uri=str(root / models_dir / f"{method}{seed}_run"),
                artifact_type=standard_artifacts.ModelRun).with_id(f"import_{method}{seed}_run"))
            model_runs[method][seed] = importers[-1].outputs["result"]
        evaluators[seed] = tfx.components.Evaluator(
            examples=example_gen.outputs["examples"], model=models[GC][seed], baseline_model=models[BASELINE][seed],
            example_splits=["test"],
            eval_config=tfma.EvalConfig(
                model_specs=[tfma.ModelSpec(name=GC, label_key="label", signature_name="serving_default"),
                             tfma.ModelSpec(name=BASELINE, label_key="label", signature_name="serving_default",
                                            is_baseline=True)],
                slicing_specs=[tfma.SlicingSpec()],
                metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name=name) for name in (
                    "ExampleCount", "BinaryAccuracy", "AUC")])])).with_id(f"evaluator{seed}")
    selection = ModelSelection(examples=example_gen.outputs["examples"],
                               evaluations={seed: e.outputs["evaluation"] for seed, e in evaluators.items()},
                               models=models, model_runs=model_runs, quality_floor=quality_floor,
                               serving_model_dir=serving_dir,
                               force_push=force_push)
    pusher = tfx.components.Pusher(
        model=selection.outputs["model"], model_blessing=selection.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)))
    # Compiled as `gc-tfx run` compiles it: ModelSelection never comes from the cache.
    tfx.orchestration.LocalDagRunner().run_with_ir(compile_pipeline(tfx.dsl.Pipeline(
        pipeline_name="model_selection_test", pipeline_root=str(root / "pipeline_root"),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.sqlite")),
        components=[example_gen, *importers, *evaluators.values(), selection, pusher], enable_cache=True)))


def _latest_artifact(root, type_name: str, producer: str):
    """The newest artifact of `type_name` written by the node `producer` (outputs live under its id)."""
    store = metadata_store.MetadataStore(tfx.orchestration.metadata.sqlite_metadata_connection_config(
        str(root / "metadata.sqlite")))
    prefix = os.path.join(str(root / "pipeline_root"), producer, "")
    return max((artifact for artifact in store.get_artifacts_by_type(type_name) if artifact.uri.startswith(prefix)),
               key=lambda artifact: artifact.id)


def _pushed_versions(serving_dir: str) -> List[str]:
    return sorted(glob.glob(os.path.join(serving_dir, "*", "saved_model.pb")))


def _served_probability_for_x7(saved_model_pb: str) -> float:
    served = tf.saved_model.load(os.path.dirname(saved_model_pb)).signatures["serving_default"]
    return float(served(examples=tf.constant([_serialized_example(7.0, 0)]))["probability"][0][0])


def _latest_selection(root) -> SelectionRecord:
    blessing = _latest_artifact(root, "ModelBlessing", "ModelSelection")
    with open(os.path.join(blessing.uri, SELECTION_FILE)) as selection_file:
        return SelectionRecord.from_json(selection_file.read())


@pytest.mark.e2e
def test_pipeline_pushes_the_rules_choice_and_never_a_worse_model_unless_forced(pipeline_inputs):
    serving_dir = str(pipeline_inputs / "serving_model")
    _run_pipeline(pipeline_inputs, quality_floor=0.5, serving_dir=serving_dir)

    pushed_versions = _pushed_versions(serving_dir)
    assert len(pushed_versions) == 1
    assert _served_probability_for_x7(pushed_versions[0]) == pytest.approx(0.15)  # seed 2's baseline, as above

    blessing = _latest_artifact(pipeline_inputs, "ModelBlessing", "ModelSelection")
    assert blessing.custom_properties["blessed"].int_value == 1
    assert blessing.custom_properties["verdict"].string_value == paired_statistics.NO_DETECTABLE_DIFFERENCE
    with open(os.path.join(blessing.uri, SELECTION_FILE)) as selection_file:
        selection = SelectionRecord.from_json(selection_file.read())
    # TFMA's accuracies (the Evaluators'), one source for the study's numbers.
    assert [(s.gc, s.baseline) for s in selection.study.seeds] == [(1.0, 0.5), (0.75, 0.5)]
    assert selection.choice.serving is None

    # A worse run into the same output: its chosen model scores 0.25 where the serving one scores 0.5.
    first_push = _pushed_versions(serving_dir)
    _run_pipeline(pipeline_inputs, quality_floor=0.0, serving_dir=serving_dir, models_dir="worse_models", seeds=(1,))
    assert _pushed_versions(serving_dir) == first_push
    selection = _latest_selection(pipeline_inputs)
    version = os.path.basename(os.path.dirname(first_push[0]))
    assert selection.choice.reason == (
        "Nothing pushed: the chosen model, baseline seed 1, scores test binary_accuracy 0.25 on this run's test "
        f"split, the serving model (version {version}) 0.5; only a higher score replaces it (--force-push pushes "
        "anyway).")
    pusher_output = _latest_artifact(pipeline_inputs, "PushedModel", "Pusher")
    assert pusher_output.custom_properties["pushed"].int_value == 0

    # Forced, the same worse run pushes; the Evaluators come from the cache, ModelSelection never does.
    _run_pipeline(pipeline_inputs, quality_floor=0.0, serving_dir=serving_dir, models_dir="worse_models", seeds=(1,),
                  force_push=True)
    pushed = _pushed_versions(serving_dir)
    assert len(pushed) == 2 and pushed[0] == first_push[0]
    assert _served_probability_for_x7(pushed[-1]) == pytest.approx(0.1)  # the worse baseline of seed 1
    assert _latest_selection(pipeline_inputs).choice.forced

    # A broken newest version (a partial copy) stops the run with the folder named, and nothing is pushed.
    broken = os.path.join(serving_dir, "9999999999")
    os.makedirs(os.path.join(broken, "variables"))
    with pytest.raises(Exception, match=f"The serving model {broken} holds no SavedModel"):
        _run_pipeline(pipeline_inputs, quality_floor=0.0, serving_dir=serving_dir, models_dir="worse_models",
                      seeds=(1,), force_push=True)
    assert _pushed_versions(serving_dir) == pushed
