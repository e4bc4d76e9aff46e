"""The Evaluator's TFMA configuration: the GC model as candidate, the baseline as `baseline_model`.

TFMA checks thresholds on the candidate only, and its blessing is about the candidate only; which model is
pushed is decided afterwards by components.model_selection. The thresholds here still make the Evaluator's
validation result answer two questions a reviewer asks: does GC meet the floor, and is it no worse than the
baseline.
"""
import tensorflow_model_analysis as tfma

from trainer import features

CANDIDATE_MODEL_NAME = "candidate"  # the GC Trainer's model
BASELINE_MODEL_NAME = "baseline"
PRIMARY_METRIC = "binary_accuracy"


def build_eval_config(quality_floor: float) -> tfma.EvalConfig:
    """Binary accuracy, AUC, precision, recall, loss and counts, with confusion/calibration plots."""
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": quality_floor}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -1e-10}),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(name=CANDIDATE_MODEL_NAME, signature_name="serving_default",
                           label_key=features.LABEL_KEY),
            tfma.ModelSpec(name=BASELINE_MODEL_NAME, signature_name="serving_default",
                           label_key=features.LABEL_KEY, is_baseline=True),
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(metrics=[
                tfma.MetricConfig(class_name="ExampleCount"),
                tfma.MetricConfig(class_name="BinaryAccuracy", threshold=accuracy_threshold),
                tfma.MetricConfig(class_name="AUC"),
                tfma.MetricConfig(class_name="Precision"),
                tfma.MetricConfig(class_name="Recall"),
                tfma.MetricConfig(class_name="BinaryCrossEntropy"),
                tfma.MetricConfig(class_name="ConfusionMatrixPlot"),
                tfma.MetricConfig(class_name="CalibrationPlot"),
            ]),
        ],
    )
