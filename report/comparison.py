"""The numbers derived from both models side by side, computed once so the page and summary.json agree."""
import dataclasses
from typing import Dict, List, Optional

from components.model_selection import rules
from report import evaluation_results, formatting, training_records
from report.report_data import ReportData
from trainer.config import BASELINE, GC

DECISION_THRESHOLD = 0.5  # the threshold Keras' and TFMA's binary accuracy use
TIE = "tie"
# Names TFMA/Keras give to metrics where smaller is better; any other metric counts as higher-is-better.
LOWER_IS_BETTER_METRICS = frozenset({"loss", "binary_crossentropy", "mean_squared_error", "mean_absolute_error",
                                     "expected_calibration_error"})
TIMING_CAVEAT = ("Rough, in-pipeline figure: GC/baseline ratio of the mean epoch time after the first epoch, each "
                 "Trainer timed once on a possibly busy machine, input pipeline included. The gc_overhead benchmark "
                 "(make bench) is the real measure.")


@dataclasses.dataclass(frozen=True)
class MetricRow:
    """One test metric for both models. `better` is GC, BASELINE, TIE, or None when not comparable."""

    name: str
    label: str
    gc: Optional[float]
    baseline: Optional[float]
    difference: Optional[float]  # GC minus baseline
    better: Optional[str]


def _better(name: str, gc: Optional[float], baseline: Optional[float]) -> Optional[str]:
    if name == "example_count" or not (formatting.is_number(gc) and formatting.is_number(baseline)):
        return None
    if abs(gc - baseline) <= rules.TOLERANCE:
        return TIE
    return GC if (gc > baseline) == (name not in LOWER_IS_BETTER_METRICS) else BASELINE


def metric_rows(data: ReportData) -> List[MetricRow]:
    """The run summary's metrics in its order, then any other metric the Evaluator computed, by name."""
    gc_metrics, baseline_metrics = data.models[GC].test_metrics, data.models[BASELINE].test_metrics
    labels = dict(formatting.METRIC_ROWS)
    names = [name for name, _ in formatting.METRIC_ROWS if name in gc_metrics or name in baseline_metrics]
    names += sorted((set(gc_metrics) | set(baseline_metrics)) - set(names))
    rows = []
    for name in names:
        gc, baseline = gc_metrics.get(name), baseline_metrics.get(name)
        both = formatting.is_number(gc) and formatting.is_number(baseline)
        rows.append(MetricRow(name=name, label=labels.get(name, name), gc=gc, baseline=baseline,
                              difference=gc - baseline if both else None, better=_better(name, gc, baseline)))
    return rows


def confusion_at_decision_threshold(data: ReportData) -> Dict[str, Optional[evaluation_results.ConfusionMatrix]]:
    """Each model's confusion matrix at 0.5, or None when its ConfusionMatrixPlot is missing."""
    matrices = {}
    for key, model in data.models.items():
        counts = model.plots.threshold_counts if model.plots else None
        matrices[key] = counts.at(DECISION_THRESHOLD) if counts else None
    return matrices


def later_epoch_time_ratio(data: ReportData) -> Optional[float]:
    """GC over baseline mean later-epoch seconds (rough); None without both training records."""
    gc, baseline = data.models[GC].training, data.models[BASELINE].training
    if gc is None or baseline is None:
        return None
    return training_records.later_epoch_time_ratio(gc, baseline)


def same_initial_weights(data: ReportData) -> Optional[bool]:
    """Whether both Trainers started from identical weights (the fairness precondition); None if unknown."""
    gc, baseline = data.models[GC].training, data.models[BASELINE].training
    if gc is None or baseline is None:
        return None
    return gc.initial_weights_sha256 == baseline.initial_weights_sha256


def tensorboard_command(data: ReportData) -> Optional[str]:
    """The command that opens both Trainers' TensorBoard logs side by side; None without both records."""
    model_run_uris = {key: model.model_run_uri for key, model in data.models.items()}
    if any(model.training is None for model in data.models.values()):
        return None
    return training_records.tensorboard_command(model_run_uris)
