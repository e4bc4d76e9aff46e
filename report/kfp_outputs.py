"""What the Kubeflow Pipelines UI shows of a run, computed from RunResults: the verdict as Markdown, the scalar
metrics for Compare runs, and per model a confusion matrix and an ROC in the kfp SDK's shapes.

Every number here is finite: the UI's metric tables reject anything else, and JSON has no infinity (sklearn-style
ROC curves start at an infinite threshold; TFMA's thresholds are finite, and any that is not is dropped).
"""
import math
from typing import Any, Dict, List, Optional

from report import formatting
from report.run_results import RunResults
from report.tfma_results import ConfusionMatrix, ThresholdCounts
from trainer.config import BASELINE, GC
from trainer.features import CLASS_NAMES

# The scalar rows of the run's system.Metrics, in this order: what Compare runs puts side by side.
GC_MEAN = "gc_mean_test_accuracy"
BASELINE_MEAN = "baseline_mean_test_accuracy"
MEAN_DIFFERENCE = "mean_difference"
INTERVAL_LOW, INTERVAL_HIGH = "interval_95_low", "interval_95_high"
P_VALUE = "p_value"
SEEDS = "seeds"
# Characters that can start markup inside a line (emphasis, code, links and images, HTML, table cells).
_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>|~")


def scalar_metrics(results: RunResults) -> Dict[str, float]:
    """The study in numbers; a value that is not finite (p of an undefined test) is left out, not faked."""
    study = results.selection.study
    rows = {
        GC_MEAN: sum(seed.gc for seed in study.seeds) / len(study.seeds),
        BASELINE_MEAN: sum(seed.baseline for seed in study.seeds) / len(study.seeds),
        MEAN_DIFFERENCE: study.mean_difference,
        INTERVAL_LOW: study.interval_95[0],
        INTERVAL_HIGH: study.interval_95[1],
        P_VALUE: study.p_value,
        SEEDS: float(len(study.seeds)),
    }
    return {name: float(value) for name, value in rows.items() if value is not None and math.isfinite(value)}


def confusion_matrix(matrix: ConfusionMatrix) -> Dict[str, Any]:
    """In the kfp SDK's shape: one row per true class, one column per predicted class."""
    rows = [[matrix.true_negatives, matrix.false_positives], [matrix.false_negatives, matrix.true_positives]]
    return {"annotationSpecs": [{"displayName": name} for name in CLASS_NAMES],
            "rows": [{"row": [float(count) for count in row]} for row in rows]}


def confidence_metrics(counts: ThresholdCounts) -> List[Dict[str, float]]:
    """The ROC: recall and false positive rate at each of TFMA's thresholds, finite points only."""
    points = []
    for matrix in counts.matrices:
        positives = matrix.true_positives + matrix.false_negatives
        negatives = matrix.false_positives + matrix.true_negatives
        point = {"confidenceThreshold": matrix.threshold,
                 "recall": matrix.true_positives / positives if positives else 0.0,
                 "falsePositiveRate": matrix.false_positives / negatives if negatives else 0.0}
        if all(math.isfinite(value) for value in point.values()):
            points.append({name: float(value) for name, value in point.items()})
    return points


def markdown(results: RunResults) -> str:
    """The verdict in words, the per-seed table, and what was pushed and why."""
    study, choice = results.selection.study, results.selection.choice
    words = formatting.VERDICT_WORDS[study.verdict]
    lines = [f"# {words[:1].upper() + words[1:]}", "",
             _text(f"Test {study.metric}, GC minus baseline. " + " ".join(formatting.study_sentences(study))), ""]
    if study.seed_caveat:
        lines += [f"> {_text(study.seed_caveat)}", ""]
    lines += ["| seed | GC | baseline | GC − baseline | only GC / only baseline right | McNemar exact p |",
              "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {seed.seed} | {formatting.metric(seed.gc, study.metric)} | "
              f"{formatting.metric(seed.baseline, study.metric)} | {formatting.difference(seed.difference, '')} | "
              f"{seed.gc_only} / {seed.baseline_only} | {formatting.p_value(seed.mcnemar_p)} |" for seed in study.seeds]
    pushed = (f"The serving copy is {results.pushed_destination}." if results.pushed_destination
              else "Nothing was pushed.")
    lines += ["", "## What was pushed, and why", "", _text(f"{choice.reason} {pushed}"), "",
              _text(f"The rule: {results.selection.rule}"), ""]
    return "\n".join(lines)


def _text(prose: str) -> str:
    """Prose from the run (reasons, paths) as Markdown text: markup characters escaped, so a file name cannot
    become a link, an image or HTML."""
    return "".join(f"\\{character}" if character in _MARKDOWN_SPECIAL else character for character in prose)


def classification_metrics(results: RunResults) -> Dict[str, Optional[Dict[str, Any]]]:
    """Per method of the chosen seed's pair: {"confusionMatrix": ..., "confidenceMetrics": [...]}, or None when
    its ConfusionMatrixPlot is missing."""
    by_method = {}
    for method in (GC, BASELINE):
        model = results.models[method]
        matrix = model.confusion_at_threshold  # None without a ConfusionMatrixPlot holding DECISION_THRESHOLD
        by_method[method] = None if matrix is None else {
            "confusionMatrix": confusion_matrix(matrix),
            "confidenceMetrics": confidence_metrics(model.plots.threshold_counts)}
    return by_method
