"""Model selection: the rules as tables, the TFMA reader, the component on its own, and a real TFX pipeline.

The pipeline tests (marked e2e) run ImportExampleGen → Evaluator (both models) → ModelSelection → Pusher on four
examples and two constant-output tf_keras models, so accuracy alone decides which one the Pusher receives.
"""
import doctest
import glob
import json
import math
import os
from typing import Dict, List, Mapping

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
from components.model_selection import rules, tfma_metrics
from components.model_selection.component import ModelSelection
from components.model_selection.rules import select_better_model
from components.model_selection.selection_record import SELECTION_FILE, SelectionRecord
from trainer.config import BASELINE, GC

NAN = float("nan")
FLOAT32_0_7 = float(tf.constant(0.7, tf.float32).numpy())  # 0.699999988: TFMA's float32 rendering of 0.7


# --- rules ------------------------------------------------------------------------------------------------------


def _metrics(accuracy: float, auc: float = 0.5, loss: float = 0.5) -> Dict[str, float]:
    return {"binary_accuracy": accuracy, "auc": auc, "binary_crossentropy": loss, "precision": NAN}


@pytest.mark.parametrize("gc, baseline, options, winner, best, decided_by, reason", [
    pytest.param(_metrics(0.8), _metrics(0.75), {}, GC, GC, "binary_accuracy",
                 "Selected gc: binary_accuracy 0.8 vs 0.75 for baseline; it meets the floor 0.6.", id="gc-wins"),
    pytest.param(_metrics(0.7), _metrics(0.9), {}, BASELINE, BASELINE, "binary_accuracy",
                 "Selected baseline: binary_accuracy 0.9 vs 0.7 for gc", id="baseline-wins"),
    pytest.param(_metrics(0.75, auc=0.91), _metrics(0.75, auc=0.9), {}, GC, GC, "auc",
                 "binary_accuracy ties at 0.75, auc 0.91 vs 0.9 for baseline", id="tie-broken-by-auc-for-gc"),
    pytest.param(_metrics(0.75, auc=0.8), _metrics(0.75, auc=0.9), {}, BASELINE, BASELINE, "auc",
                 "auc 0.9 vs 0.8 for gc", id="tie-broken-by-auc-for-baseline"),
    pytest.param(_metrics(0.75, auc=0.9), _metrics(0.75, auc=0.9), {}, BASELINE, BASELINE, "simplicity",
                 "binary_accuracy ties at 0.75 and auc ties at 0.9, so the simpler model", id="full-tie-baseline"),
    pytest.param(_metrics(0.75 + 5e-7, auc=0.95), _metrics(0.75, auc=0.9), {}, GC, GC, "auc",
                 "binary_accuracy ties", id="within-tolerance-is-a-tie"),
    pytest.param(_metrics(0.75 + 5e-7), _metrics(0.75), {"tolerance": 0.0}, GC, GC, "binary_accuracy",
                 "Selected gc", id="zero-tolerance-separates"),
    pytest.param(_metrics(0.75, auc=0.99), _metrics(0.75, auc=0.5), {"tie_breakers": ()}, BASELINE, BASELINE,
                 "simplicity", "binary_accuracy ties at 0.75, so the simpler", id="no-tie-breakers"),
    pytest.param(_metrics(0.75, auc=0.8, loss=0.3), _metrics(0.75, auc=0.8, loss=0.4),
                 {"tie_breakers": ("auc", "binary_crossentropy")}, GC, GC, "binary_crossentropy",
                 "auc ties at 0.8, binary_crossentropy 0.3 vs 0.4", id="second-tie-breaker-lower-is-better"),
    pytest.param(_metrics(0.48), _metrics(0.4), {}, None, GC, "binary_accuracy",
                 "Nothing pushed: the best binary_accuracy, 0.48 (gc), is below the floor 0.6.", id="floor-not-met"),
    pytest.param(_metrics(0.5), _metrics(FLOAT32_0_7), {"quality_floor": 0.7}, BASELINE, BASELINE,
                 "binary_accuracy", "it meets the floor 0.7", id="floor-exactly-met-in-float32"),
    pytest.param(_metrics(0.5), _metrics(0.7 - 2e-6), {"quality_floor": 0.7}, None, BASELINE, "binary_accuracy",
                 "is below the floor 0.7", id="floor-missed-just-beyond-tolerance"),
    pytest.param(_metrics(0.5, loss=0.2), _metrics(0.9, loss=0.3), {"metric": "binary_crossentropy",
                                                                    "quality_floor": 0.25},
                 GC, GC, "binary_crossentropy", "binary_crossentropy 0.2 vs 0.3 for baseline; it meets the floor 0.25",
                 id="loss-inferred-lower-is-better"),
    pytest.param(_metrics(0.5, loss=0.2), _metrics(0.9, loss=0.3), {"metric": "binary_crossentropy",
                                                                    "quality_floor": 0.1},
                 None, GC, "binary_crossentropy", "0.2 (gc), is above the floor 0.1 (lower is better)",
                 id="loss-above-its-floor"),
    pytest.param(_metrics(0.75, auc=NAN), _metrics(0.7, auc=NAN), {}, GC, GC, "binary_accuracy",
                 "Selected gc", id="nan-tie-breaker-not-consulted"),
])
def test_select_better_model(gc, baseline, options, winner, best, decided_by, reason):
    decision = select_better_model(gc, baseline, **{"quality_floor": 0.6, **options})
    assert (decision.winner, decision.best, decision.decided_by) == (winner, best, decided_by)
    assert decision.should_push == (winner is not None)
    assert reason in decision.reason
    metric = options.get("metric", "binary_accuracy")
    assert (decision.metric, decision.gc_value, decision.baseline_value) == (metric, gc[metric], baseline[metric])


@pytest.mark.parametrize("gc, baseline, options, message", [
    pytest.param(_metrics(0.8), _metrics(0.7), {"metric": "accuracy"},
                 "Unknown metric 'accuracy': the gc model has only auc, binary_accuracy, binary_crossentropy, "
                 "precision", id="unknown-metric"),
    pytest.param(_metrics(0.8), {"binary_accuracy": 0.7}, {},
                 "Unknown metric 'auc': the baseline model has only binary_accuracy", id="unknown-tie-breaker"),
    pytest.param(_metrics(NAN), _metrics(0.7), {}, "The gc model's binary_accuracy is NaN", id="nan-metric"),
    pytest.param(_metrics(0.7, auc=0.8), _metrics(0.7, auc=NAN), {},
                 "The baseline model's auc is NaN", id="nan-tie-breaker-consulted"),
    pytest.param(_metrics(0.8), _metrics(0.7), {"quality_floor": NAN}, "quality_floor must be a number, got nan",
                 id="nan-floor"),
    pytest.param(_metrics(0.8), _metrics(0.7), {"tolerance": -0.1}, "tolerance must be >= 0, got -0.1",
                 id="negative-tolerance"),
])
def test_select_better_model_rejects(gc, baseline, options, message):
    with pytest.raises(ValueError) as error:
        select_better_model(gc, baseline, **{"quality_floor": 0.6, **options})
    assert message in str(error.value)


def test_docstring_example():
    assert doctest.testmod(rules, raise_on_error=True).attempted > 0


def test_parameters_parse_to_rule_arguments():
    assert selection_component.parse_tie_breakers(" auc, precision ,,") == ("auc", "precision")
    assert selection_component.parse_tie_breakers("") == ()


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
    metrics = tfma_metrics.overall_metrics_by_model(records)
    assert metrics[GC] == {"binary_accuracy": 0.75, "auc": 0.5}
    assert list(metrics[BASELINE]) == ["binary_accuracy", "precision"]
    assert metrics[BASELINE]["binary_accuracy"] == 0.25
    assert math.isnan(metrics[BASELINE]["precision"])


def test_overall_metrics_by_model_rejects_duplicates_and_missing_overall_slice():
    duplicate = _metrics_for_slice({GC: {"auc": 0.5}})
    weighted = _metrics_for_slice({GC: {"auc": 0.6}}, example_weighted={"value": True})
    duplicate.metric_keys_and_values.extend(weighted.metric_keys_and_values)
    with pytest.raises(ValueError, match="Metric 'auc' of model 'gc' appears twice .* example_weighted True"):
        tfma_metrics.overall_metrics_by_model([duplicate])
    sliced_only = _evaluation_records({"auc": 0.5}, {"auc": 0.5})[:2]
    with pytest.raises(ValueError, match="None of the 2 TFMA metrics records is for the overall slice"):
        tfma_metrics.overall_metrics_by_model(sliced_only)


def test_metrics_of_model_names_the_models_found():
    with pytest.raises(ValueError, match=r"no metrics for model 'baseline', only for \[''\]"):
        tfma_metrics.metrics_of_model({"": {"auc": 0.5}}, BASELINE)


def _write_evaluation(uri: str, gc: Mapping[str, float], baseline: Mapping[str, float]) -> None:
    """Writes records where the Evaluator does: TFRecords named metrics-* in the ModelEvaluation folder."""
    os.makedirs(uri, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(uri, "metrics-00000-of-00001.tfrecord")) as writer:
        for record in _evaluation_records(gc, baseline):
            writer.write(record.SerializeToString())


def test_load_overall_metrics_by_model_reads_tfma_files(tmp_path):
    _write_evaluation(str(tmp_path), {"binary_accuracy": 0.75}, {"binary_accuracy": 0.5})
    assert tfma_metrics.load_overall_metrics_by_model(str(tmp_path)) == {
        GC: {"binary_accuracy": 0.75}, BASELINE: {"binary_accuracy": 0.5}}


# --- the component on its own (ModelSelection.test_call runs the executor function directly) --------------------


def _model_artifact(uri: str, artifact_id: int, old_layout: bool) -> standard_artifacts.Model:
    """A Model artifact as ML Metadata hands it over, holding one marker file in its serving folder.

    Trainer outputs carry a TFX version (layout Format-Serving/); Importer outputs do not (serving_model_dir/).
    """
    model = standard_artifacts.Model()
    model.uri, model.id = uri, artifact_id
    model.mlmd_artifact.state = model.mlmd_artifact.LIVE
    if not old_layout:
        model.set_string_custom_property(artifact_utils.ARTIFACT_TFX_VERSION_CUSTOM_PROPERTY_KEY, tfx.__version__)
    serving_dir = os.path.join(uri, "serving_model_dir" if old_layout else "Format-Serving")
    os.makedirs(os.path.join(serving_dir, "variables"))
    with open(os.path.join(serving_dir, "saved_model.pb"), "w") as marker:
        marker.write(uri)
    return model


def _read_selection(blessing_uri: str) -> SelectionRecord:
    with open(os.path.join(blessing_uri, SELECTION_FILE)) as selection_file:
        return SelectionRecord.from_json(selection_file.read())


def _run_selection(tmp_path, gc: Mapping[str, float], baseline: Mapping[str, float], old_layout: bool = False,
                   **parameters):
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(tmp_path / "evaluation")
    _write_evaluation(evaluation.uri, gc, baseline)
    gc_model = _model_artifact(str(tmp_path / "gc"), 11, old_layout)
    baseline_model = _model_artifact(str(tmp_path / "baseline"), 12, old_layout)
    model, blessing = standard_artifacts.Model(), standard_artifacts.ModelBlessing()
    model.uri, blessing.uri = str(tmp_path / "selected"), str(tmp_path / "blessing")
    ModelSelection.test_call(evaluation=evaluation, gc_model=gc_model, baseline_model=baseline_model,
                             model=model, blessing=blessing, **parameters)
    return model, blessing, _read_selection(blessing.uri)


def _copied_from(model: standard_artifacts.Model) -> str:
    with open(os.path.join(model.uri, "Format-Serving", "saved_model.pb")) as marker:
        return marker.read()


def test_component_blesses_and_copies_the_winner(tmp_path):
    model, blessing, selection = _run_selection(
        tmp_path, {"binary_accuracy": 0.8, "auc": 0.7, "precision": NAN}, {"binary_accuracy": 0.6, "auc": 0.9},
        quality_floor=0.5)
    gc_uri = str(tmp_path / "gc")
    assert _copied_from(model) == gc_uri
    assert os.path.isdir(os.path.join(model.uri, "Format-Serving", "variables"))
    assert blessing.get_int_custom_property("blessed") == 1
    assert os.path.exists(os.path.join(blessing.uri, "BLESSED"))
    assert blessing.get_string_custom_property("current_model") == gc_uri
    assert blessing.get_int_custom_property("current_model_id") == 11
    for artifact in (model, blessing):
        assert artifact.get_string_custom_property("winner") == GC
        assert artifact.get_string_custom_property("metric") == "binary_accuracy"
        assert artifact.get_float_custom_property("gc_value") == 0.8
        assert artifact.get_float_custom_property("baseline_value") == 0.6
        assert artifact.get_float_custom_property("quality_floor") == 0.5
        assert artifact.get_string_custom_property("reason").startswith("Selected gc: binary_accuracy 0.8 vs 0.6")
    assert model.get_string_custom_property("selected_from") == gc_uri
    assert selection.decision.winner == GC and selection.should_push is True
    assert selection.tie_breakers == ("auc",)
    assert selection.metrics[GC] == {"binary_accuracy": 0.8, "auc": 0.7, "precision": None}
    assert selection.model_uris == {GC: gc_uri, BASELINE: str(tmp_path / "baseline")}
    assert selection.selected_model_uri == model.uri and selection.selected_from == gc_uri
    with open(os.path.join(blessing.uri, SELECTION_FILE)) as selection_file:  # the file a person opens
        assert json.load(selection_file)["should_push"] is True


def test_component_renames_an_old_layout_model_for_the_pusher(tmp_path):
    model, blessing, selection = _run_selection(
        tmp_path, {"binary_accuracy": 0.75, "auc": 0.5}, {"binary_accuracy": 0.75, "auc": 0.8}, old_layout=True,
        quality_floor=0.5)
    assert _copied_from(model) == str(tmp_path / "baseline")
    assert not os.path.exists(os.path.join(model.uri, "serving_model_dir"))
    assert selection.decision.decided_by == "auc"
    assert blessing.get_int_custom_property("blessed") == 1


def test_component_with_unmet_floor_writes_an_unblessed_decision(tmp_path):
    model, blessing, selection = _run_selection(
        tmp_path, {"binary_crossentropy": 0.4, "auc": 0.5}, {"binary_crossentropy": 0.3, "auc": 0.5},
        quality_floor=0.2, metric="binary_crossentropy", tie_breakers="")
    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    assert blessing.get_string_custom_property("winner") == "none"
    assert blessing.get_string_custom_property("current_model") == str(tmp_path / "baseline")
    # The output stays a usable Model (the better one), which the Pusher will refuse because of the blessing.
    assert _copied_from(model) == str(tmp_path / "baseline")
    assert selection.decision.winner is None and selection.should_push is False
    assert selection.decision.reason == ("Nothing pushed: the best binary_crossentropy, 0.3 (baseline), is above the floor "
                                   "0.2 (lower is better).")


def test_component_compiles_for_kubeflow_v2(tmp_path):
    imports = {name: tfx.dsl.Importer(source_uri=f"gs://bucket/{name}", artifact_type=artifact_type).with_id(name)
               for name, artifact_type in [("evaluation", standard_artifacts.ModelEvaluation),
                                           ("gc", standard_artifacts.Model), ("baseline", standard_artifacts.Model)]}
    selection = ModelSelection(evaluation=imports["evaluation"].outputs["result"],
                               gc_model=imports["gc"].outputs["result"],
                               baseline_model=imports["baseline"].outputs["result"],
                               quality_floor=0.6, tie_breakers="auc,precision")
    pusher = tfx.components.Pusher(
        model=selection.outputs["model"], model_blessing=selection.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory="gs://bucket/serving")))
    pipeline = tfx.dsl.Pipeline(pipeline_name="selection", pipeline_root="gs://bucket/root",
                                components=[*imports.values(), selection, pusher])
    tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image="gc-tfx:test",
                                                                        use_pipeline_spec_2_1=True),
        output_dir=str(tmp_path), output_filename="pipeline.yaml").run(pipeline, write_out=True)
    with open(tmp_path / "pipeline.yaml") as spec_file:
        spec = yaml.safe_load(spec_file)
    executor = spec["deploymentSpec"]["executors"]["ModelSelection_executor"]["container"]
    assert executor["args"][:2] == ["--executor_class_path",
                                    "components.model_selection.component.ModelSelection_Executor"]
    task = spec["root"]["dag"]["tasks"]["ModelSelection"]["inputs"]["parameters"]
    assert task["quality_floor"]["runtimeValue"]["constant"] == 0.6
    assert task["tie_breakers"]["runtimeValue"]["constant"] == "auc,precision"


# --- a real pipeline --------------------------------------------------------------------------------------------

LABELS = (1, 1, 1, 0)  # a constant "human" prediction is 75 % accurate, a constant "horse" one 25 %
BASELINE_PROBABILITY = 0.9  # the baseline always says "human": accuracy 0.75, the winner
GC_PROBABILITY = 0.2  # the GC model always says "horse": accuracy 0.25, precision NaN


def _serialized_example(x: float, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


def _export_constant_model(export_dir: str, probability: float) -> None:
    """A tf_keras model whose sigmoid output is `probability` for every input, served from tf.Examples."""
    inputs = tf_keras.Input(shape=(1,), name="x")
    outputs = tf_keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer="zeros",
        bias_initializer=tf_keras.initializers.Constant(math.log(probability / (1 - probability))))(inputs)
    model = tf_keras.Model(inputs, outputs)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(examples):
        features = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([1], tf.float32)})
        return {"probability": model(features["x"])}

    tf.saved_model.save(model, export_dir, signatures={"serving_default": serve})


@pytest.fixture(scope="module")
def pipeline_inputs(tmp_path_factory):
    """Examples and two models on disk, plus one pipeline root and ML Metadata shared by the pipeline runs.

    Sharing lets TFX's cache skip ExampleGen and Evaluator on the second run, whichever test runs first.
    """
    root = tmp_path_factory.mktemp("pipeline")
    os.makedirs(root / "data")
    with tf.io.TFRecordWriter(str(root / "data" / "examples.tfrecord")) as writer:
        for index, label in enumerate(LABELS):
            writer.write(_serialized_example(float(index), label))
    # Trainer's layout (<model artifact>/Format-Serving), so the imported models look like Trainer outputs.
    _export_constant_model(str(root / "models" / GC / "Format-Serving"), GC_PROBABILITY)
    _export_constant_model(str(root / "models" / BASELINE / "Format-Serving"), BASELINE_PROBABILITY)
    return root


def _run_pipeline(root, quality_floor: float, serving_dir: str) -> None:
    example_gen = tfx.components.ImportExampleGen(
        input_base=str(root / "data"),
        output_config=tfx.proto.Output(split_config=tfx.proto.SplitConfig(
            splits=[tfx.proto.SplitConfig.Split(name="test", hash_buckets=1)])))
    # The TFX version marks the folder layout as current (Format-Serving), as on every Trainer output.
    models = {name: tfx.dsl.Importer(source_uri=str(root / "models" / name),
                                     artifact_type=standard_artifacts.Model,
                                     custom_properties={"tfx_version": tfx.__version__}).with_id(f"import_{name}")
              for name in (GC, BASELINE)}
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=models[GC].outputs["result"],
        baseline_model=models[BASELINE].outputs["result"],
        example_splits=["test"],
        eval_config=tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(name=GC, label_key="label", signature_name="serving_default"),
                         tfma.ModelSpec(name=BASELINE, label_key="label", signature_name="serving_default",
                                        is_baseline=True)],
            slicing_specs=[tfma.SlicingSpec()],
            metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name=name) for name in (
                "ExampleCount", "BinaryAccuracy", "AUC", "Precision")])]))
    selection = ModelSelection(evaluation=evaluator.outputs["evaluation"],
                               gc_model=models[GC].outputs["result"],
                               baseline_model=models[BASELINE].outputs["result"],
                               quality_floor=quality_floor)
    pusher = tfx.components.Pusher(
        model=selection.outputs["model"], model_blessing=selection.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)))
    tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
        pipeline_name="model_selection_test", pipeline_root=str(root / "pipeline_root"),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.sqlite")),
        components=[example_gen, *models.values(), evaluator, selection, pusher], enable_cache=True))


def _latest_artifact(root, type_name: str, producer: str):
    """The newest artifact of `type_name` written by the node `producer` (outputs live under its id)."""
    store = metadata_store.MetadataStore(tfx.orchestration.metadata.sqlite_metadata_connection_config(
        str(root / "metadata.sqlite")))
    prefix = os.path.join(str(root / "pipeline_root"), producer, "")
    return max((artifact for artifact in store.get_artifacts_by_type(type_name) if artifact.uri.startswith(prefix)),
               key=lambda artifact: artifact.id)


@pytest.mark.e2e
def test_pipeline_pushes_the_more_accurate_model(pipeline_inputs):
    serving_dir = str(pipeline_inputs / "serving_model")
    _run_pipeline(pipeline_inputs, quality_floor=0.6, serving_dir=serving_dir)

    pushed_versions = glob.glob(os.path.join(serving_dir, "*", "saved_model.pb"))
    assert len(pushed_versions) == 1
    served = tf.saved_model.load(os.path.dirname(pushed_versions[0])).signatures["serving_default"]
    probability = served(examples=tf.constant([_serialized_example(0.0, 1)]))["probability"]
    assert float(probability[0][0]) == pytest.approx(BASELINE_PROBABILITY)

    blessing = _latest_artifact(pipeline_inputs, "ModelBlessing", "ModelSelection")
    assert blessing.custom_properties["blessed"].int_value == 1
    assert blessing.custom_properties["winner"].string_value == BASELINE
    assert blessing.custom_properties["current_model"].string_value == str(pipeline_inputs / "models" / BASELINE)
    selection = _read_selection(blessing.uri)
    assert (selection.decision.gc_value, selection.decision.baseline_value) == (0.25, 0.75)
    assert selection.metrics[GC]["precision"] is None  # NaN in TFMA, null in JSON
    assert selection.metrics[BASELINE]["example_count"] == 4
    assert _latest_artifact(pipeline_inputs, "PushedModel", "Pusher").custom_properties["pushed"].int_value == 1


@pytest.mark.e2e
def test_pipeline_with_unreachable_floor_pushes_nothing(pipeline_inputs):
    serving_dir = str(pipeline_inputs / "serving_model_unreachable_floor")
    _run_pipeline(pipeline_inputs, quality_floor=0.9, serving_dir=serving_dir)

    assert not os.path.exists(serving_dir)
    blessing = _latest_artifact(pipeline_inputs, "ModelBlessing", "ModelSelection")
    assert blessing.custom_properties["blessed"].int_value == 0
    selection = _read_selection(blessing.uri)
    assert selection.decision.winner is None
    assert selection.decision.reason == "Nothing pushed: the best binary_accuracy, 0.75 (baseline), is below the floor 0.9."
    assert _latest_artifact(pipeline_inputs, "PushedModel", "Pusher").custom_properties["pushed"].int_value == 0
