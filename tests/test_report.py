"""`gc-tfx report`: the standalone HTML report and summary.json, both made of one RunResults value.

Unit tests feed the loaders hand-made TFMA/TFDV protos and render hand-made RunResults with hostile text; the
end-to-end tests (marked e2e) check a real tiny run's report against the Evaluator's own output, the selection
record and the console.
"""
import json
import math
import os

import jsonschema
import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

import report_fixtures
import shared_run
from cli import latest_run, main as cli, metadata_reader
from components.model_selection.rules import RULE
from report import build, data_statistics, formatting, page as html_page, schemas, tfma_results
from report.run_results import RunResults, load_run_results
from report_fixtures import HOSTILE_TEXT, parse, plots_for_slice, results, selection, training_record
from results.selection import SelectionRecord, ServingModel
from trainer.config import METHODS
from trainer.training_record import TrainingRecord

# ---------------------------------------------------------------------------------------------------------------
# Loaders on hand-made protos


def test_plots_give_each_models_confusion_counts_roc_and_calibration_of_the_overall_slice():
    by_model = tfma_results.plots_by_model(
        [plots_for_slice("gc", sliced=True), plots_for_slice("gc"), plots_for_slice("baseline")])

    assert set(by_model) == {"gc", "baseline"}
    counts = by_model["gc"].threshold_counts
    assert [matrix.threshold for matrix in counts.matrices] == [-1e-6, 0.5, 1.0]
    assert counts.at(0.5) == tfma_results.ConfusionMatrix(threshold=0.5, true_positives=3, false_positives=1,
                                                          true_negatives=3, false_negatives=1)
    assert counts.at(0.25) is None
    assert counts.roc_points() == ([0.0, 0.25, 1.0], [0.0, 0.75, 1.0])
    assert counts.precision_recall_points() == ([0.75, 1.0], [0.75, 0.5])  # threshold 1.0 predicts no positive
    bins = by_model["gc"].calibration
    assert [(b.lower, b.examples) for b in bins] == [(0.0, 3), (0.9, 4)]  # -inf joins the first bin, +inf the last
    assert bins[0].mean_prediction == pytest.approx(0.1 / 3) and bins[0].positive_rate == 0
    assert bins[1].mean_prediction == pytest.approx(3.85 / 4) and bins[1].positive_rate == pytest.approx(0.75)


def _feature(dataset, name: str):
    feature = dataset.features.add()
    feature.path.step.append(name)
    return feature


@pytest.mark.parametrize("label_max, expected_counts", [(1, {"horses": 4, "humans": 6}), (2, None)])
def test_split_statistics_counts_classes_sizes_duplicates_and_missing_values(label_max, expected_counts):
    dataset = statistics_pb2.DatasetFeatureStatistics(num_examples=10)
    image = _feature(dataset, "image").string_stats
    image.common_stats.num_non_missing, image.avg_length, image.unique = 10, 1234.5, 9
    label = _feature(dataset, "label").num_stats
    label.common_stats.num_non_missing, label.num_zeros, label.min, label.max = 10, 4, 0, label_max
    _feature(dataset, "filename").string_stats.common_stats.num_non_missing = 8

    split = data_statistics.split_statistics("train", dataset)

    assert split == data_statistics.SplitStatistics(
        split="train", examples=10, class_counts=expected_counts, mean_image_bytes=1234.5, distinct_images=9,
        examples_missing={"filename": 2})


@pytest.mark.parametrize("function, value, expected", [
    (lambda v: formatting.metric(v, "auc"), 0.4453125, "0.4453"),
    (lambda v: formatting.metric(v, "auc"), float("nan"), "n/a"),
    (lambda v: formatting.metric(v, "example_count"), 1283.0, "1,283"),
    (lambda v: formatting.difference(v, "auc"), -0.0625, "-0.0625"),
    (lambda v: formatting.difference(v, "auc"), 0.0, "+0.0000"),
    (formatting.seconds, 15.3328, "15.3 s"),
    (formatting.seconds, 0.2966, "297 ms"),
    (formatting.seconds, 312.4, "312 s"),
    (formatting.ratio, 1.0734, "1.07× (+7.3 %)"),
    (formatting.ratio, None, "n/a"),
    (formatting.byte_size, 16258.2, "16.3 kB"),
    (formatting.byte_size, 2_500_000, "2.5 MB"),
    (formatting.byte_size, 512, "512 B"),
])
def test_numbers_are_formatted_for_people(function, value, expected):
    assert function(value) == expected


def test_tensorboard_command_names_both_runs_and_quotes_paths(tmp_path):
    gc_dir, baseline_dir = str(tmp_path / "gc run"), str(tmp_path / "baseline")
    made = results()
    models = {method: made.models[method].model_copy(update={"model_run_uri": folder})
              for method, folder in (("gc", gc_dir), ("baseline", baseline_dir))}
    command = made.model_copy(update={"models": models}).tensorboard_command
    assert command == f"tensorboard --logdir_spec 'gc:{gc_dir},baseline:{baseline_dir}'"


# ---------------------------------------------------------------------------------------------------------------
# Rendering hand-made data


def test_training_record_file_round_trips_and_spells_out_derived_seconds():
    record = training_record("gc", [12.0, 2.2, 2.4])
    text = record.to_json()
    assert TrainingRecord.from_json(text) == record
    document = json.loads(text)
    assert document["settings"] == {"method": "gc", "epochs": 3, "batch_size": 128, "image_size": 300, "seed": 42}
    assert (document["first_epoch_seconds"], document["later_epoch_seconds_mean"]) == (12.0, pytest.approx(2.3))


def test_selection_record_file_round_trips():
    record = selection()
    assert SelectionRecord.from_json(record.to_json()) == record
    assert json.loads(record.to_json())["should_push"] is True
    forced = selection(serving=ServingModel(path="/serving/17", version="17", test_value=0.8125), forced=True)
    assert SelectionRecord.from_json(forced.to_json()) == forced


def test_page_and_summary_show_the_serving_model_beside_the_chosen_one():
    serving = ServingModel(path=f"/serving/{HOSTILE_TEXT}/17", version="17", test_value=0.8125)
    data = results(selection=selection(serving=serving, forced=True))
    parser = parse(html_page.render(data))
    cells = {cell["data-push-row"]: (cell["text"], cell["data-value"]) for cell in parser.push_cells}
    assert cells == {"chosen": ("0.7500", "0.75"), "serving": ("0.8125", "0.8125")}
    text = "".join(parser.text)
    assert f"serving before this run: version 17 (/serving/{HOSTILE_TEXT}/17)" in text
    assert "push decision (pushed with --force-push)" in text
    choice = json.loads(data.to_json())["selection"]["choice"]
    assert choice["serving"] == {"path": serving.path, "version": "17", "test_value": 0.8125}
    assert choice["forced"] is True

    unguarded = parse(html_page.render(results()))
    assert [cell["data-push-row"] for cell in unguarded.push_cells] == ["chosen"]
    assert "serving before this run: none" in "".join(unguarded.text)
    assert json.loads(results().to_json())["selection"]["choice"]["serving"] is None


def test_every_text_from_the_run_is_escaped():
    page = html_page.render(results())
    parser = parse(page)

    assert "<script" not in page and "<img src=x" not in page
    assert {tag for tag, _ in parser.tags} <= report_fixtures.ALLOWED_TAGS
    text = "".join(parser.text)
    assert text.count(HOSTILE_TEXT) >= 8  # intact as text: output root, data folder, file, reasons, anomaly, ...
    report_fixtures.assert_no_network_reference(page)


def test_page_compares_both_models_and_names_the_winner_and_the_push():
    data = results()
    page = html_page.render(data)
    cells = {(cell["data-model"], cell["data-metric"]): cell for cell in parse(page).metric_cells}

    assert cells[("gc", "auc")]["text"] == "0.8125" and cells[("baseline", "auc")]["text"] == "0.7500"
    assert cells[("gc", "precision")]["text"] == "n/a" and cells[("gc", "precision")]["data-value"] == "nan"
    assert "+0.0625" in page  # the AUC difference
    text = "".join(parse(page).text)
    assert f"{HOSTILE_TEXT} The serving copy is /serving/{HOSTILE_TEXT}." in text
    assert "No detectable difference between GC and the baseline" in text
    study = data.selection.study
    assert f"95% interval {formatting.interval(study.interval_95)}" in text
    assert "cannot reach p < 0.05" in text and RULE in text
    seed_cells = {(cell["data-model"], cell["data-seed"]): cell["text"] for cell in parse(page).seed_cells}
    assert seed_cells == {("gc", "42"): "0.8750", ("baseline", "42"): "0.7500", ("gc", "43"): "0.7500",
                          ("baseline", "43"): "0.7500"}
    assert 'data-verdict="no_detectable_difference"' in page
    assert "1.15× (+15.0 %)" in page  # (2.2 + 2.4) / 2 over (2.0 + 2.0) / 2: the first epoch left out
    assert "tensorboard --logdir_spec" in page


def test_missing_pieces_render_as_notes_and_nothing_pushed_says_why():
    data = results(
        pushed_destination=None, selection=selection(pushed=False, reason="below floor"),
        models={key: model.model_copy(update={"plots": None, "training": None})
                for key, model in results().models.items()},
        statistics=None, anomalies=None, evaluator_check=None,
        notes={"plots": "the Evaluator wrote no plots", "training gc": "no training_record.json",
               "training baseline": "no training_record.json", "statistics": "StatisticsGen did not run",
               "anomalies": "ExampleValidator did not run", "evaluator check": "no validation result"})
    text = "".join(parse(html_page.render(data)).text)

    assert "below floor Nothing was pushed." in text
    assert "No evaluation plots: the Evaluator wrote no plots." in text
    for label in ("GC", "baseline (no GC)"):
        assert f"No confusion matrix for {label}" in text and f"No calibration plot for {label}" in text
        assert f"No training record for {label}: no training_record.json." in text
    assert "No statistics: StatisticsGen did not run." in text
    assert "No anomalies report: ExampleValidator did not run." in text
    assert "TensorBoard log folders are unknown" in text


def test_summary_json_is_strict_json_with_nan_as_null_and_the_records_own_schemas():
    made = results()
    document = json.loads(made.to_json(), parse_constant=lambda name: pytest.fail(f"{name} in summary.json"))

    assert document["models"]["gc"]["test_metrics"]["precision"] is None
    assert document["models"]["gc"]["test_metrics"]["auc"] == 0.8125
    comparison = {row["name"]: row for row in document["metric_comparison"]}
    assert comparison["auc"]["difference"] == 0.0625
    assert {name: row["better"] for name, row in comparison.items()} == {
        "binary_accuracy": "tie", "auc": "gc", "precision": None, "recall": "tie", "binary_crossentropy": "tie",
        "example_count": None}
    assert document["models"]["gc"]["confusion_at_threshold"] == {
        "threshold": 0.5, "true_positives": 3, "false_positives": 1, "true_negatives": 3, "false_negatives": 1}
    assert "plots" not in document["models"]["gc"]  # charts only; the confusion counts above are what scripts need
    # The study and the choice are selection.json's own, in the same schema, not a second spelling of them.
    assert document["selection"] == json.loads(made.selection.to_json())
    assert document["ingestion"] == json.loads(made.ingestion.to_json())
    study = document["selection"]["study"]
    assert [row["seed"] for row in study["seeds"]] == [42, 43]
    assert study["seeds"][0]["difference"] == 0.125 and study["seeds"][1]["difference"] == 0.0
    assert study["mean_difference"] == 0.0625 and study["verdict"] == "no_detectable_difference"
    assert study["interval_95"][0] < 0 < study["interval_95"][1]
    assert document["selection"]["should_push"] is True and document["pushed_destination"] == f"/serving/{HOSTILE_TEXT}"
    assert document["gc_over_baseline_later_epoch_time"] == pytest.approx(1.15)
    assert document["same_initial_weights"] is True


SCHEMAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "schemas")


def _schema(record_file: str) -> dict:
    with open(os.path.join(SCHEMAS, schemas.schema_file_name(record_file)), encoding="utf-8") as schema_file:
        return json.load(schema_file)


@pytest.mark.parametrize("record_file", sorted(schemas.RECORDS))
def test_the_committed_schemas_are_the_models_own(record_file):
    """docs/schemas/ is what scripts validate against; regenerate it with `python -m report.schemas`."""
    with open(os.path.join(SCHEMAS, schemas.schema_file_name(record_file)), encoding="utf-8") as schema_file:
        assert schema_file.read() == schemas.schema_text(schemas.RECORDS[record_file])


def test_summary_and_selection_validate_against_their_schemas_and_a_wrong_one_does_not():
    made = results()
    jsonschema.validate(json.loads(made.to_json()), _schema(build.SUMMARY_FILE))
    jsonschema.validate(json.loads(made.selection.to_json()), _schema("selection.json"))
    broken = json.loads(made.to_json())
    broken["selection"]["study"]["p_value"] = "0.5"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _schema(build.SUMMARY_FILE))


def test_summary_json_reads_back_as_the_same_results():
    made = results()
    again = RunResults.from_json(made.to_json())
    assert again.selection == made.selection and again.ingestion == made.ingestion
    assert again.models["gc"].training == made.models["gc"].training
    assert again.models["gc"].test_metrics["precision"] is None  # NaN is None in memory too, one policy


# ---------------------------------------------------------------------------------------------------------------
# The command's errors


def _writable_store(path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


def test_report_of_a_folder_without_a_run_says_what_to_do(tmp_path, capsys):
    assert cli.main(["report", "--output", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"No ML Metadata at {tmp_path / 'metadata.sqlite'}" in error and "gc-tfx run --output" in error
    assert not (tmp_path / "report").exists()


def test_report_of_an_empty_store_says_no_run_yet(tmp_path, capsys):
    _writable_store(str(tmp_path / "metadata.sqlite"))
    assert cli.main(["report", "--output", str(tmp_path)]) == 1
    assert "records no pipeline run yet" in capsys.readouterr().err


def test_report_of_an_unfinished_run_names_what_did_not_finish(tmp_path, capsys):
    store = _writable_store(str(tmp_path / "metadata.sqlite"))
    run_type = store.put_context_type(metadata_store_pb2.ContextType(name="pipeline_run"))
    node_type = store.put_context_type(metadata_store_pb2.ContextType(name="node"))
    execution_type = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Evaluator"))
    contexts = [metadata_store_pb2.Context(type_id=run_type, name="run-1"),
                metadata_store_pb2.Context(type_id=node_type, name="gc-tfx.Evaluator")]
    store.put_execution(metadata_store_pb2.Execution(type_id=execution_type,
                                                     last_known_state=metadata_store_pb2.Execution.RUNNING),
                        artifact_and_events=[], contexts=contexts)

    assert cli.main(["report", "--output", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "did not finish (Evaluator is RUNNING; ImageExampleGen did not run;" in error
    assert "it resumes from the cache" in error


# ---------------------------------------------------------------------------------------------------------------
# A real tiny run


@pytest.fixture
def pushed(first_run) -> shared_run.Run:
    return first_run


@pytest.fixture
def nothing_pushed(impossible_floor_run) -> shared_run.Run:
    return impossible_floor_run


def _page(run: shared_run.Run) -> str:
    with open(os.path.join(run.report_folder, build.PAGE_FILE), encoding="utf-8") as page_file:
        return page_file.read()


def _summary(run: shared_run.Run) -> dict:
    with open(os.path.join(run.report_folder, build.SUMMARY_FILE), encoding="utf-8") as summary_file:
        return json.load(summary_file)


@pytest.mark.e2e
def test_run_builds_the_report_and_prints_its_path(pushed):
    page = os.path.join(os.path.abspath(pushed.output), "report", "index.html")
    assert f"Report (open it in a browser): {page}" in pushed.console


@pytest.mark.e2e
def test_report_holds_both_models_numbers_exactly_as_the_evaluator_wrote_them(pushed):
    summary = _summary(pushed)
    seed = summary["selection"]["choice"]["seed"]
    evaluator = shared_run.EVALUATOR_IDS[seed]
    evaluation = tfma_results.load_overall_metrics_by_model(pushed.nodes[evaluator].output("evaluation").uri)
    cells = {(cell["data-model"], cell["data-metric"]): cell for cell in parse(_page(pushed)).metric_cells}

    for key in METHODS:  # TFMA names the models by method too
        assert set(summary["models"][key]["test_metrics"]) == set(evaluation[key])
        for metric, value in evaluation[key].items():
            cell = cells[(key, metric)]
            assert cell["text"] == formatting.metric(value, metric)
            if math.isnan(value):
                assert cell["data-value"] == "nan" and summary["models"][key]["test_metrics"][metric] is None
            else:
                assert float(cell["data-value"]) == value
                assert summary["models"][key]["test_metrics"][metric] == value
    for row in summary["metric_comparison"]:
        gc, baseline = evaluation["gc"].get(row["name"]), evaluation["baseline"].get(row["name"])
        if row["difference"] is not None:
            assert row["difference"] == gc - baseline


@pytest.mark.e2e
def test_summary_selection_end_summary_and_page_agree_on_every_number(pushed):
    summary = _summary(pushed)
    with open(os.path.join(pushed.nodes["ModelSelection"].output("blessing").uri, "selection.json")) as selection:
        selection_document = json.load(selection)
    pushed_model = pushed.nodes["Pusher"].output("pushed_model")
    examples_uri = pushed.nodes["ImageExampleGen"].output("examples").uri
    with open(os.path.join(examples_uri, "ingestion_summary.json")) as ingestion_file:
        ingestion = json.load(ingestion_file)

    # One schema: summary.json holds selection.json and ingestion_summary.json as they are.
    assert summary["selection"] == selection_document and summary["ingestion"] == ingestion
    jsonschema.validate(summary, _schema(build.SUMMARY_FILE))
    jsonschema.validate(selection_document, _schema("selection.json"))
    study, choice = selection_document["study"], selection_document["choice"]
    assert [row["seed"] for row in study["seeds"]] == list(shared_run.SEEDS)
    assert summary["pushed_destination"] == metadata_reader.custom_property(pushed_model, "pushed_destination")
    # The console and the page print the same per-seed numbers, interval and p.
    page_text = " ".join("".join(parse(_page(pushed)).text).split())
    for row in study["seeds"]:
        console_row = f"seed {row['seed']}"
        line = next(line for line in pushed.console.splitlines() if line.startswith(console_row))
        for value in (formatting.metric(row["gc"], study["metric"]), formatting.metric(row["baseline"], study["metric"]),
                      formatting.difference(row["difference"], study["metric"]), formatting.p_value(row["mcnemar_p"])):
            assert value in line
    for text in (pushed.console, page_text):
        assert f"95% interval [{formatting.difference(study['interval_95'][0], '')}, " in text
        assert f"p = {formatting.p_value(study['p_value'])} ({study['test']})" in text
        assert choice["reason"] in " ".join(text.split())
    assert summary["rejected_csv"].endswith("rejected.csv")
    assert {row["path"] for row in summary["rejected_files_listed"]} >= set(shared_run.HOSTILE_PATHS)
    assert [split["examples"] for split in summary["statistics"]] == [
        sum(ingestion["ingested"][split].values()) for split in ("train", "eval", "test")]
    for key, model in summary["models"].items():
        matrix = model["confusion_at_threshold"]
        correct = (matrix["true_positives"] + matrix["true_negatives"]) / model["test_metrics"]["example_count"]
        assert correct == pytest.approx(model["test_metrics"]["binary_accuracy"], abs=1e-6), key
        assert model["training"]["epoch_seconds"] and len(model["training"]["history"]["val_loss"]) == 2
    assert summary["same_initial_weights"] is True
    assert summary["gc_over_baseline_later_epoch_time"] > 0
    assert summary["tensorboard_command"].startswith("tensorboard --logdir_spec ")
    assert summary["notes"] == {}


@pytest.mark.e2e
def test_a_client_recomputing_the_statistics_finds_the_verdict_consistent(pushed):
    """The per-seed numbers of summary.json, put through a t test written out here, give the interval and p
    printed beside the verdict, and the verdict follows from them."""
    study = _summary(pushed)["selection"]["study"]
    differences = [row["gc"] - row["baseline"] for row in study["seeds"]]
    n = len(differences)
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    assert study["mean_difference"] == pytest.approx(mean) and study["sd_difference"] == pytest.approx(sd)
    half_width = 12.706 * sd / math.sqrt(n)  # two seeds: t(0.975) on 1 degree of freedom, from the tables
    if sd > 0:
        assert study["interval_95"] == pytest.approx([mean - half_width, mean + half_width], rel=1e-3, abs=1e-9)
        t = abs(mean) / (sd / math.sqrt(n))
        assert study["p_value"] == pytest.approx(1 - 2 * math.atan(t) / math.pi)  # t on 1 df: Cauchy
    low, high = study["interval_95"]
    significant = study["p_value"] is not None and study["p_value"] < 0.05
    expected = ("gc_better" if significant and low > 0 else "gc_worse" if significant and high < 0
                else "no_detectable_difference")
    assert study["verdict"] == expected


@pytest.mark.e2e
def test_report_makes_no_network_requests_and_escapes_hostile_file_names(pushed):
    page = _page(pushed)
    report_fixtures.assert_no_network_reference(page)
    assert "<script" not in page
    text = "".join(parse(page).text)
    for path in shared_run.HOSTILE_PATHS:
        assert path in text  # shown as written, as text
    assert "train/&lt;script&gt;alert(1)&lt;/script&gt;.png" in page


@pytest.mark.e2e
def test_report_of_a_run_that_pushed_nothing_says_so(nothing_pushed):
    summary = _summary(nothing_pushed)
    text = "".join(parse(_page(nothing_pushed)).text)

    assert summary["selection"]["should_push"] is False and summary["pushed_destination"] is None
    assert "Nothing was pushed." in text and "below the floor" in text
    assert summary["selection"]["choice"]["reason"] in text
    assert "Report (open it in a browser):" in nothing_pushed.console


@pytest.mark.e2e
def test_report_without_evaluator_plots_still_renders_with_a_note(nothing_pushed, monkeypatch):
    monkeypatch.setattr(tfma_results.tfma, "load_plots", lambda uri: iter(()))  # as with no plots file
    run = latest_run.find_latest_run(nothing_pushed.output)
    data = load_run_results(run.artifacts(), run.info())
    page = html_page.render(data)
    text = "".join(parse(page).text)

    assert data.notes["plots"].startswith("the Evaluator wrote no plots")
    assert "No evaluation plots: the Evaluator wrote no plots" in text
    assert "No confusion matrix for GC" in text and "No calibration plot for baseline (no GC)" in text
    assert {method: model.confusion_at_threshold for method, model in data.models.items()} == {
        "gc": None, "baseline": None}
    report_fixtures.assert_no_network_reference(page)
