"""Hand-made report inputs for the report and review tests: RunResults whose every free text is hostile, TFMA
plots, training records, and a parser for the page they render to."""
import html.parser
import math
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from components.model_selection.rules import RULE
from report import data_statistics, tfma_results
from report.run_results import ModelResults, RejectedFile, RunInfo, RunResults
from results import paired_statistics
from results.ingestion import IngestionSummary
from results.selection import Candidate, Choice, SelectionRecord, ServingModel
from trainer.config import TrainerSettings, TrainingConfig
from trainer.training_record import TrainingRecord

HOSTILE_TEXT = "<script>alert(1)</script> \"quoted\" & 'single' <img src=x onerror=alert(2)>"
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "nav", "a", "div",
                "table", "thead", "tbody", "tr", "th", "td", "figure", "img", "figcaption", "pre", "code",
                "strong", "footer"}


class PageParser(html.parser.HTMLParser):
    """Collects tags, attributes, text, and the metric cells (`<td data-metric=...>`) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: List[Tuple[str, Dict[str, str]]] = []
        self.text: List[str] = []
        self.metric_cells: List[Dict[str, str]] = []  # the test metrics table's
        self.seed_cells: List[Dict[str, str]] = []  # the verdict's per-seed table's
        self.push_cells: List[Dict[str, str]] = []  # the push decision's table's
        self._open_metric_cell = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "td" and ({"data-metric", "data-seed", "data-push-row"} & set(attributes)):
            self._open_metric_cell = {**attributes, "text": ""}

    def handle_endtag(self, tag):
        if tag == "td" and self._open_metric_cell is not None:
            cells = (self.seed_cells if "data-seed" in self._open_metric_cell
                     else self.push_cells if "data-push-row" in self._open_metric_cell else self.metric_cells)
            cells.append(self._open_metric_cell)
            self._open_metric_cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._open_metric_cell is not None:
            self._open_metric_cell["text"] += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def assert_no_network_reference(page: str) -> None:
    """No URL that would make a browser fetch anything: every src/href is a data: URI or a same-page anchor."""
    parser = parse(page)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"url\(\s*['\"]?(?!data:)", page), "CSS url() to something other than data:"
    assert "@import" not in page
    for tag, attributes in parser.tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}>"
        for name in ("src", "href", "srcset", "action", "poster"):
            if name in attributes:
                value = attributes[name]
                assert value.startswith("data:image/") or (name == "href" and value.startswith("#")), (
                    f"<{tag} {name}={value[:80]!r}>")


def plots_for_slice(model_name: str, sliced: bool = False) -> metrics_for_slice_pb2.PlotsForSlice:
    plots = metrics_for_slice_pb2.PlotsForSlice()
    if sliced:
        plots.slice_key.single_slice_keys.add(column="label", int64_value=1)
    key_and_value = plots.plot_keys_and_values.add()
    key_and_value.key.model_name = model_name
    matrices = key_and_value.value.confusion_matrix_at_thresholds.matrices
    # 4 positives, 4 negatives; thresholds given out of order on purpose.
    matrices.add(threshold=0.5, true_positives=3, false_positives=1, true_negatives=3, false_negatives=1)
    matrices.add(threshold=-1e-6, true_positives=4, false_positives=4)
    matrices.add(threshold=1.0, true_negatives=4, false_negatives=4)
    buckets = key_and_value.value.calibration_histogram_buckets.buckets
    for lower, upper, examples, labels, predictions in ((-math.inf, 0.0, 1, 0, 0.0), (0.05, 0.051, 2, 0, 0.1),
                                                        (0.95, 0.951, 3, 2, 2.85), (1.0, math.inf, 1, 1, 1.0)):
        bucket = buckets.add(lower_threshold_inclusive=lower, upper_threshold_exclusive=upper)
        bucket.num_weighted_examples.value = examples
        bucket.total_weighted_label.value = labels
        bucket.total_weighted_refined_prediction.value = predictions
    return plots


def training_record(method: str, epoch_seconds: List[float], weights: str = "ab" * 32) -> TrainingRecord:
    return TrainingRecord(
        settings=TrainerSettings(method=method, training=TrainingConfig(epochs=3)),
        optimizer="GC_RMSprop" if method == "gc" else "RMSprop", strategy="_DefaultDistributionStrategy",
        replicas=1, global_batch_size=128, initial_weights_sha256=weights, epoch_seconds=epoch_seconds,
        history={"loss": [0.7, 0.6, 0.5], "accuracy": [0.5, 0.6, 0.7], "val_loss": [0.71, 0.65, 0.6],
                 "val_accuracy": [0.5, 0.55, 0.6]},
        fit_seconds=sum(epoch_seconds) + 1.0, export_seconds=2.0)


def pairs(gc_only: int, baseline_only: int, both: int) -> paired_statistics.PairedPredictions:
    gc = [True] * gc_only + [False] * baseline_only + [True] * both + [False] * (8 - gc_only - baseline_only - both)
    baseline = [False] * gc_only + [True] * baseline_only + [True] * both + [False] * (8 - gc_only - baseline_only
                                                                                        - both)
    return paired_statistics.PairedPredictions(np.array(gc), np.array(baseline))


def selection(pushed: bool = True, reason: str = HOSTILE_TEXT, serving: Optional[ServingModel] = None,
               forced: bool = False) -> SelectionRecord:
    """Two seeds: seed 42 GC 0.875 vs 0.75 (2 / 1 discordant), seed 43 GC 0.75 vs 0.75 (1 / 1)."""
    predictions = [pairs(2, 1, 5), pairs(1, 1, 5)]
    seeds = [paired_statistics.seed_result(42, 0.875, 0.75, predictions[0]),
             paired_statistics.seed_result(43, 0.75, 0.75, predictions[1])]
    study = paired_statistics.summarize("binary_accuracy", seeds, predictions)
    candidates = [Candidate(method=method, seed=seed, eval_accuracy=0.7, eval_log_loss=0.6, test_value=0.75)
                  for seed in (42, 43) for method in ("gc", "baseline")]
    return SelectionRecord(
        study=study, rule=RULE,
        choice=Choice(method="baseline", seed=42, test_value=0.75, quality_floor=0.5, should_push=pushed,
                      reason=reason, serving=serving, forced=forced),
        candidates=candidates,
        test_metrics={str(seed): {"gc": {"binary_accuracy": 0.75}, "baseline": {"binary_accuracy": 0.75}}
                      for seed in (42, 43)},
        model_uris={str(seed): {"gc": f"/runs/gc{seed}", "baseline": f"/runs/baseline{seed}"} for seed in (42, 43)},
        evaluation_uris={"42": "/runs/evaluator42", "43": "/runs/evaluator43"},
        selected_from="/runs/baseline42", selected_model_uri="/runs/selection/model")


def results(**overrides) -> RunResults:
    """Complete RunResults whose every free text field holds HOSTILE_TEXT."""
    plots = tfma_results.plots_by_model([plots_for_slice("gc"), plots_for_slice("baseline")])
    metrics = {"binary_accuracy": 0.75, "auc": 0.8125, "precision": float("nan"), "recall": 0.75,
               "binary_crossentropy": 0.5, "example_count": 8.0}
    models = {
        "gc": ModelResults(method="gc", seed=42, test_metrics=metrics, plots=plots["gc"], model_run_uri="/runs/gc",
                           training=training_record("gc", [12.0, 2.2, 2.4])),
        "baseline": ModelResults(method="baseline", seed=42, test_metrics={**metrics, "auc": 0.75},
                                 plots=plots["baseline"], model_run_uri="/runs/baseline",
                                 training=training_record("baseline", [11.0, 2.0, 2.0])),
    }
    made = RunResults(
        run=RunInfo(output=f"/out/{HOSTILE_TEXT}", metadata="/out/metadata.sqlite", started_ms=1_700_000_000_000,
                    finished_ms=1_700_000_090_000, node_states={"Evaluator": "COMPLETE", "Pusher": "CACHED"}),
        ingestion=IngestionSummary(
            data_folder=HOSTILE_TEXT, eval_percent=10,
            ingested={"test": {"horses": 4, "humans": 4}, "train": {"horses": 20, "humans": 22}},
            rejected={"train": {"horses": 1}, "(none)": {"(none)": 1}}),
        rejected_csv="/out/rejected.csv",
        rejected_files_listed=[RejectedFile(path=f"train/horses/{HOSTILE_TEXT}.png", split="train",
                                            reason=HOSTILE_TEXT),
                               RejectedFile(path="README.txt", split="", reason="outside train/ and test/")],
        selection=selection(),
        pushed_destination=f"/serving/{HOSTILE_TEXT}",
        models=models,
        evaluator_check=tfma_results.EvaluatorCheck(passed=False, failures=(HOSTILE_TEXT,)),
        statistics=[data_statistics.SplitStatistics(split="train", examples=42,
                                                    class_counts={"horses": 20, "humans": 22},
                                                    mean_image_bytes=15000.0, distinct_images=41,
                                                    examples_missing={})],
        anomalies={"train": (data_statistics.Anomaly(feature="image", short_description=HOSTILE_TEXT,
                                                     description=HOSTILE_TEXT),), "test": ()},
        notes={})
    return made.model_copy(update=overrides)
