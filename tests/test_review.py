"""The review step: what the Kubeflow UI shows of a run (system.HTML, system.Markdown, system.Metrics,
system.ClassificationMetrics), from hand-made RunResults and from the shared local run's real Review execution.

The shapes are the ones the KFP v2 UI reads: every custom property of a Metrics artifact but `display_name` is a
row, so no `tfx_version` may appear; a confusion matrix has one annotation spec per class and as many rows; every
number is finite.
"""
import json
import math
import os

import pytest
from google.protobuf import json_format

import shared_run
import report_fixtures
from report import kfp_outputs, page
from report.tfma_results import ConfusionMatrix, ThresholdCounts
from trainer.config import METHODS

KFP_TYPES = {"report": "system.HTML", "verdict": "system.Markdown", "metrics": "system.Metrics",
             "gc_classification": "system.ClassificationMetrics",
             "baseline_classification": "system.ClassificationMetrics"}
METRIC_ROWS = {kfp_outputs.GC_MEAN, kfp_outputs.BASELINE_MEAN, kfp_outputs.MEAN_DIFFERENCE, kfp_outputs.INTERVAL_LOW,
               kfp_outputs.INTERVAL_HIGH, kfp_outputs.P_VALUE, kfp_outputs.SEEDS}


def test_scalar_metrics_are_the_studys_numbers_and_only_finite_ones():
    results = report_fixtures.results()
    study = results.selection.study
    metrics = kfp_outputs.scalar_metrics(results)
    assert set(metrics) == METRIC_ROWS
    assert metrics[kfp_outputs.GC_MEAN] == pytest.approx((0.875 + 0.75) / 2)
    assert metrics[kfp_outputs.BASELINE_MEAN] == pytest.approx(0.75)
    assert (metrics[kfp_outputs.INTERVAL_LOW], metrics[kfp_outputs.INTERVAL_HIGH]) == study.interval_95
    assert metrics[kfp_outputs.P_VALUE] == study.p_value and metrics[kfp_outputs.SEEDS] == 2.0
    undefined = results.model_copy(update={"selection": results.selection.model_copy(
        update={"study": study.model_copy(update={"p_value": None})})})
    assert kfp_outputs.P_VALUE not in kfp_outputs.scalar_metrics(undefined)


def test_confusion_matrix_rows_are_true_classes_and_the_roc_drops_infinite_points():
    counts = ThresholdCounts(matrices=(
        ConfusionMatrix(threshold=-math.inf, true_positives=4, false_positives=4, true_negatives=0,
                        false_negatives=0),
        ConfusionMatrix(threshold=0.5, true_positives=3, false_positives=1, true_negatives=3, false_negatives=1),
        ConfusionMatrix(threshold=1.0, true_positives=0, false_positives=0, true_negatives=4, false_negatives=4)))
    assert kfp_outputs.confusion_matrix(counts.at(0.5)) == {
        "annotationSpecs": [{"displayName": "horses"}, {"displayName": "humans"}],
        "rows": [{"row": [3.0, 1.0]}, {"row": [1.0, 3.0]}]}  # true horses: 3 right, 1 called human
    assert kfp_outputs.confidence_metrics(counts) == [
        {"confidenceThreshold": 0.5, "recall": 0.75, "falsePositiveRate": 0.25},
        {"confidenceThreshold": 1.0, "recall": 0.0, "falsePositiveRate": 0.0}]


def test_markdown_states_the_verdict_the_seeds_and_the_push_and_escapes_the_runs_text():
    results = report_fixtures.results()
    text = kfp_outputs.markdown(results)
    assert text.startswith("# No detectable difference between GC and the baseline")
    assert "| 42 | 0.8750 | 0.7500 | +0.1250 | 2 / 1 |" in text and "| 43 | 0.7500 | 0.7500 | +0.0000 |" in text
    assert "## What was pushed, and why" in text
    assert "<script>" not in text and "\\<script\\>alert(1)\\</script\\>" in text


# ---------------------------------------------------------------------------------------------------------------
# The shared local run's Review execution


def _outputs(run: shared_run.Run):
    return run.nodes["Review"].outputs


def _custom_properties(artifact) -> dict:
    """As the KFP launcher turns them into the artifact's metadata: JSON values, lists and dicts unwrapped."""
    values = {}
    for name, value in artifact.custom_properties.items():
        kind = value.WhichOneof("value")
        if kind == "struct_value":
            decoded = json_format.MessageToDict(value.struct_value)
            values[name] = decoded.get("__value__", decoded)
        else:
            values[name] = getattr(value, kind)
    return values


@pytest.mark.e2e
def test_review_writes_the_four_kfp_ui_types(first_run):
    outputs = _outputs(first_run)
    assert set(outputs) == set(KFP_TYPES)
    assert first_run.nodes["Review"].state == "COMPLETE"


@pytest.mark.e2e
def test_review_html_is_the_report_page_and_markdown_the_verdict_at_the_artifact_uris(first_run):
    outputs = _outputs(first_run)
    html_uri, markdown_uri = outputs["report"][0].uri, outputs["verdict"][0].uri
    assert os.path.isfile(html_uri) and os.path.isfile(markdown_uri)  # the objects themselves, not folders
    with open(html_uri, encoding="utf-8") as review_page, open(first_run.report_page, encoding="utf-8") as local:
        review_html, local_html = review_page.read(), local.read()
    # One report: the same code renders both; only the local page's header and footer know ML Metadata.
    body = lambda html: html[html.index('<h2 id="verdict">'):html.index("<footer>")]  # noqa: E731
    assert body(review_html) == body(local_html)
    report_fixtures.assert_no_network_reference(review_html)
    with open(markdown_uri, encoding="utf-8") as markdown:
        text = markdown.read()
    with open(os.path.join(first_run.report_folder, "summary.json")) as summary_file:
        study = json.load(summary_file)["selection"]["study"]
    for seed in study["seeds"]:
        assert f"| {seed['seed']} | {seed['gc']:.4f} | {seed['baseline']:.4f} |" in text


# What the local launcher's ML Metadata adds to every artifact; on Kubeflow the Metrics types carry no tfx_version
# (test_kubeflow_run_local reads the executor's output as the KFP launcher does).
LOCAL_BOOKKEEPING = ("tfx_version", "is_external")


@pytest.mark.e2e
def test_review_metrics_are_the_studys_finite_numbers(first_run):
    metrics = _custom_properties(_outputs(first_run)["metrics"][0])
    for name in ("display_name", *LOCAL_BOOKKEEPING):
        metrics.pop(name, None)
    assert set(metrics) <= METRIC_ROWS and METRIC_ROWS - set(metrics) <= {kfp_outputs.P_VALUE}
    assert all(isinstance(value, float) and math.isfinite(value) for value in metrics.values())
    with open(os.path.join(first_run.report_folder, "summary.json")) as summary_file:
        study = json.load(summary_file)["selection"]["study"]
    assert metrics[kfp_outputs.MEAN_DIFFERENCE] == pytest.approx(study["mean_difference"])
    assert [metrics[kfp_outputs.INTERVAL_LOW], metrics[kfp_outputs.INTERVAL_HIGH]] == pytest.approx(
        study["interval_95"])
    assert metrics[kfp_outputs.SEEDS] == len(shared_run.SEEDS)


@pytest.mark.e2e
def test_review_classification_metrics_hold_a_2x2_matrix_and_a_finite_roc_per_method(first_run):
    with open(os.path.join(first_run.report_folder, "summary.json")) as summary_file:
        summary = json.load(summary_file)
    for method in METHODS:
        properties = _custom_properties(_outputs(first_run)[f"{method}_classification"][0])
        matrix = properties["confusionMatrix"]
        assert [spec["displayName"] for spec in matrix["annotationSpecs"]] == ["horses", "humans"]
        rows = [row["row"] for row in matrix["rows"]]
        counts = summary["models"][method]["confusion_at_threshold"]
        assert rows == [[counts["true_negatives"], counts["false_positives"]],
                        [counts["false_negatives"], counts["true_positives"]]]
        roc = properties["confidenceMetrics"]
        assert len(roc) > 2 and all(set(point) == {"confidenceThreshold", "recall", "falsePositiveRate"}
                                    for point in roc)
        assert all(math.isfinite(value) for point in roc for value in point.values())


def test_the_page_renders_without_ml_metadata_as_the_review_step_does():
    results = report_fixtures.results(run=None)
    html = page.render(results)
    assert "Written by the pipeline's review step" in html and "Latest run in" not in html
    report_fixtures.assert_no_network_reference(html)
