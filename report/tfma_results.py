"""The Evaluator's TFMA output as plain values, the one reader of it: the overall slice's scalar metrics per model
(which ModelSelection and the report take as the test-split numbers), its plots (confusion counts per threshold,
calibration) and its own threshold check of the candidate.

TFMA keys everything by model name, which the EvalConfig sets to the method names ("gc", "baseline").
"""
import math
import os
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2, validation_result_pb2

from results.records import Record
from trainer.config import METHODS

CALIBRATION_BINS = 10  # TFMA writes 1,000 buckets; ten are what a person can read
VALIDATIONS_FILE_PATTERN = "validations*"  # as TFMA names its ValidationResult file


def overall_metrics_by_model(
        metrics_for_slices: Iterable[metrics_for_slice_pb2.MetricsForSlice]) -> Dict[str, Dict[str, float]]:
    """Scalar metrics of the overall slice, grouped by TFMA model name.

    Kept: plain double values. Skipped: sliced and cross-sliced records, `is_diff` entries (candidate minus
    baseline), and keys with a `sub_key` or `aggregation_type` (per class, top-k or threshold breakdowns).
    NaN values are kept: whether a NaN matters depends on which metric the selection consults.

    Raises:
      ValueError: the same model and metric appear twice (e.g. weighted and unweighted, or two outputs), or no
        overall slice is present.
    """
    metrics_by_model: Dict[str, Dict[str, float]] = {}
    record_count = 0
    found_overall_slice = False
    for metrics_for_slice in metrics_for_slices:
        record_count += 1
        if metrics_for_slice.WhichOneof("slicing_spec_oneof") != "slice_key" or (
                metrics_for_slice.slice_key.single_slice_keys):
            continue
        found_overall_slice = True
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            key, value = key_and_value.key, key_and_value.value
            if (key.is_diff or key.HasField("sub_key") or key.HasField("aggregation_type")
                    or value.WhichOneof("type") != "double_value"):
                continue
            model_metrics = metrics_by_model.setdefault(key.model_name, {})
            if key.name in model_metrics:
                raise ValueError(f"Metric {key.name!r} of model {key.model_name!r} appears twice in the overall slice; "
                                 f"the second has output_name {key.output_name!r} and example_weighted "
                                 f"{key.example_weighted.value}")
            model_metrics[key.name] = value.double_value.value
    if not found_overall_slice:
        raise ValueError(f"None of the {record_count} TFMA metrics records is for the overall slice; "
                         "the EvalConfig needs a tfma.SlicingSpec() without features")
    return metrics_by_model


def metrics_of_model(metrics_by_model: Mapping[str, Dict[str, float]], model_name: str) -> Dict[str, float]:
    """One model's metrics, with an error that names the models TFMA did report."""
    if model_name not in metrics_by_model:
        raise ValueError(f"The evaluation has no metrics for model {model_name!r}, only for "
                         f"{sorted(metrics_by_model)}; name the EvalConfig ModelSpecs {' and '.join(METHODS)}")
    return metrics_by_model[model_name]


def load_overall_metrics_by_model(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """`overall_metrics_by_model` of the metrics the Evaluator wrote to its ModelEvaluation artifact."""
    return overall_metrics_by_model(tfma.load_metrics(evaluation_uri))


class ConfusionMatrix(Record):
    """Counts at one threshold: a prediction above `threshold` counts as the positive class."""

    threshold: float
    true_positives: float
    false_positives: float
    true_negatives: float
    false_negatives: float

    @property
    def total(self) -> float:
        return self.true_positives + self.false_positives + self.true_negatives + self.false_negatives


class ThresholdCounts(Record):
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


class CalibrationBin(Record):
    """Examples whose prediction fell in [lower, upper): mean prediction against the observed positive rate."""

    lower: float
    upper: float
    examples: float
    mean_prediction: float
    positive_rate: float


class ModelPlots(Record):
    """What TFMA's plots hold for one model; either part may be missing from an EvalConfig."""

    threshold_counts: Optional[ThresholdCounts] = None
    calibration: Tuple[CalibrationBin, ...] = ()


def _rate(hits: float, misses: float) -> float:
    return hits / (hits + misses) if hits + misses > 0 else 0.0


def _threshold_counts(plot: metrics_for_slice_pb2.ConfusionMatrixAtThresholds) -> ThresholdCounts:
    return ThresholdCounts(matrices=tuple(sorted(
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
            model_plots = by_model.get(key_and_value.key.model_name, ModelPlots())
            if value.confusion_matrix_at_thresholds.matrices:
                model_plots = model_plots.model_copy(
                    update={"threshold_counts": _threshold_counts(value.confusion_matrix_at_thresholds)})
            if value.calibration_histogram_buckets.buckets:
                model_plots = model_plots.model_copy(
                    update={"calibration": calibration_bins(value.calibration_histogram_buckets.buckets)})
            by_model[key_and_value.key.model_name] = model_plots
    return by_model


def load_plots_by_model(evaluation_uri: str) -> Dict[str, ModelPlots]:
    """`plots_by_model` of the plots the Evaluator wrote; empty when it wrote none."""
    return plots_by_model(tfma.load_plots(evaluation_uri))


class EvaluatorCheck(Record):
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
