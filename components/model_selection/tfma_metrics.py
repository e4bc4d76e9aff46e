"""Reads the Evaluator's TFMA output as plain numbers: {model_name: {metric_name: value}} for the overall slice.

The selection rules need one scalar per model and metric; everything else TFMA writes (other slices, diffs against
the baseline, per-threshold or per-class breakdowns, plots) is left out here.
"""
from typing import Dict, Iterable, Mapping

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from trainer.config import METHODS  # the EvalConfig names its two ModelSpecs by the methods; TFMA keys by them


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
