"""The Evaluator's plots and validation result as plain values: per-threshold confusion counts, calibration
bins, and the Evaluator's own threshold check of the candidate. (Its scalar metrics are read by
components.model_selection.tfma_metrics, as model selection reads them.)

TFMA keys everything by model name, which the EvalConfig sets to the method names ("gc", "baseline").
"""
import dataclasses
import math
import os
from typing import Dict, Iterable, List, Optional, Tuple

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2, validation_result_pb2

CALIBRATION_BINS = 10  # TFMA writes 1,000 buckets; ten are what a person can read
VALIDATIONS_FILE_PATTERN = "validations*"  # as TFMA names its ValidationResult file


@dataclasses.dataclass(frozen=True)
class ConfusionMatrix:
    """Counts at one threshold: a prediction above `threshold` counts as the positive class."""

    threshold: float
    true_positives: float
    false_positives: float
    true_negatives: float
    false_negatives: float

    @property
    def total(self) -> float:
        return self.true_positives + self.false_positives + self.true_negatives + self.false_negatives


@dataclasses.dataclass(frozen=True)
class ThresholdCounts:
    """One model's ConfusionMatrixPlot: confusion counts at each of TFMA's thresholds, in ascending order."""

    matrices: Tuple[ConfusionMatrix, ...]

    def at(self, threshold: float) -> Optional[ConfusionMatrix]:
        """The matrix at exactly `threshold` (TFMA's thresholds include 0.5), or None."""
        return next((matrix for matrix in self.matrices if math.isclose(matrix.threshold, threshold)), None)

    def roc_points(self) -> Tuple[List[float], List[float]]:
        """(false positive rates, true positive rates), ordered by rising false positive rate."""
        points = sorted({(_rate(m.false_positives, m.true_negatives), _rate(m.true_positives, m.false_negatives))
                         for m in self.matrices})
        return [fpr for fpr, _ in points], [tpr for _, tpr in points]

    def precision_recall_points(self) -> Tuple[List[float], List[float]]:
        """(recalls, precisions) at the thresholds where the model predicts any positive, by rising recall."""
        points = sorted({(_rate(m.true_positives, m.false_negatives),
                          m.true_positives / (m.true_positives + m.false_positives))
                         for m in self.matrices if m.true_positives + m.false_positives > 0})
        return [recall for recall, _ in points], [precision for _, precision in points]


@dataclasses.dataclass(frozen=True)
class CalibrationBin:
    """Examples whose prediction fell in [lower, upper): mean prediction against the observed positive rate."""

    lower: float
    upper: float
    examples: float
    mean_prediction: float
    positive_rate: float


@dataclasses.dataclass(frozen=True)
class ModelPlots:
    """What TFMA's plots hold for one model; either part may be missing from an EvalConfig."""

    threshold_counts: Optional[ThresholdCounts]
    calibration: Tuple[CalibrationBin, ...]


def _rate(hits: float, misses: float) -> float:
    return hits / (hits + misses) if hits + misses > 0 else 0.0


def _threshold_counts(plot: metrics_for_slice_pb2.ConfusionMatrixAtThresholds) -> ThresholdCounts:
    return ThresholdCounts(tuple(sorted(
        (ConfusionMatrix(threshold=m.threshold, true_positives=m.true_positives,
                         false_positives=m.false_positives, true_negatives=m.true_negatives,
                         false_negatives=m.false_negatives) for m in plot.matrices),
        key=lambda matrix: matrix.threshold)))


def calibration_bins(buckets: Iterable[metrics_for_slice_pb2.CalibrationHistogramBuckets.Bucket],
                     bins: int = CALIBRATION_BINS) -> Tuple[CalibrationBin, ...]:
    """Merges TFMA's calibration buckets into `bins` equal-width bins over [0, 1]; empty bins are left out.

    Buckets below 0 or from 1 up (TFMA's open-ended first and last ones) join the first and last bin.
    """
    totals = [[0.0, 0.0, 0.0] for _ in range(bins)]  # examples, labels, predictions
    for bucket in buckets:
        lower = min(max(bucket.lower_threshold_inclusive, 0.0), 1.0)  # clips the infinite ends too
        index = min(bins - 1, int(lower * bins))
        totals[index][0] += bucket.num_weighted_examples.value
        totals[index][1] += bucket.total_weighted_label.value
        totals[index][2] += bucket.total_weighted_refined_prediction.value
    return tuple(CalibrationBin(lower=index / bins, upper=(index + 1) / bins, examples=examples,
                                mean_prediction=predictions / examples, positive_rate=labels / examples)
                 for index, (examples, labels, predictions) in enumerate(totals) if examples > 0)


def plots_by_model(plots: Iterable[metrics_for_slice_pb2.PlotsForSlice]) -> Dict[str, ModelPlots]:
    """The overall slice's plots by TFMA model name; other slices are left out, as in the metrics."""
    by_model: Dict[str, ModelPlots] = {}
    for plots_for_slice in plots:
        if plots_for_slice.slice_key.single_slice_keys:
            continue
        for key_and_value in plots_for_slice.plot_keys_and_values:
            value = key_and_value.value
            model_plots = by_model.get(key_and_value.key.model_name, ModelPlots(None, ()))
            if value.confusion_matrix_at_thresholds.matrices:
                model_plots = dataclasses.replace(
                    model_plots, threshold_counts=_threshold_counts(value.confusion_matrix_at_thresholds))
            if value.calibration_histogram_buckets.buckets:
                model_plots = dataclasses.replace(
                    model_plots, calibration=calibration_bins(value.calibration_histogram_buckets.buckets))
            by_model[key_and_value.key.model_name] = model_plots
    return by_model


def load_plots_by_model(evaluation_uri: str) -> Dict[str, ModelPlots]:
    """`plots_by_model` of the plots the Evaluator wrote; empty when it wrote none."""
    return plots_by_model(tfma.load_plots(evaluation_uri))


@dataclasses.dataclass(frozen=True)
class EvaluatorCheck:
    """The Evaluator's threshold check of the candidate (no regression against the baseline)."""

    passed: bool
    failures: Tuple[str, ...]  # one phrase per failed threshold


def describe_failures(failures: Iterable[validation_result_pb2.ValidationFailure]) -> Tuple[str, ...]:
    """One phrase per failed threshold, e.g. "binary_accuracy, gc minus baseline: -0.0625"."""
    phrases = []
    for failure in failures:
        key = failure.metric_key
        subject = f"{key.model_name} minus baseline" if key.is_diff else key.model_name
        if failure.metric_value.HasField("double_value"):
            phrases.append(f"{key.name}, {subject}: {failure.metric_value.double_value.value:.4g}")
        else:
            phrases.append(f"{key.name}, {subject}")
    return tuple(phrases)


def load_evaluator_check(evaluation_uri: str) -> Optional[EvaluatorCheck]:
    """The Evaluator's validation result, or None when it wrote none (an EvalConfig without thresholds)."""
    if not tf.io.gfile.glob(os.path.join(evaluation_uri, VALIDATIONS_FILE_PATTERN)):
        return None
    result = tfma.load_validation_result(evaluation_uri)
    return EvaluatorCheck(
        passed=result.validation_ok,
        failures=describe_failures(failure for per_slice in result.metric_validations_per_slice
                                   for failure in per_slice.failures))
