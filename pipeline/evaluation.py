"""The Evaluator's TFMA configuration: the GC model as candidate, the baseline as `baseline_model`.

TFMA checks thresholds on the candidate only, and its blessing is about the candidate only; which model is
pushed, and whether it is good enough (the quality floor), is decided afterwards by components.model_selection.
The one threshold here makes the Evaluator's validation result answer a question a reviewer asks: is GC no worse
than the baseline. It depends on no flag, so changing `--quality-floor` reruns only the selection and the push.
ModelSpecs are named by the methods ("gc", "baseline"): TFMA keys every metric by these names.
"""
import tensorflow_model_analysis as tfma

from trainer import features
from trainer.config import BASELINE, GC


def build_eval_config() -> tfma.EvalConfig:
    """Binary accuracy, AUC, precision, recall, loss and counts, with confusion/calibration plots."""
    no_worse_than_baseline = tfma.MetricThreshold(
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -1e-10}))
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(name=GC, signature_name=features.SERVING_SIGNATURE, label_key=features.LABEL_KEY),
            tfma.ModelSpec(name=BASELINE, signature_name=features.SERVING_SIGNATURE, label_key=features.LABEL_KEY,
                           is_baseline=True),
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(metrics=[
                tfma.MetricConfig(class_name="ExampleCount"),
                tfma.MetricConfig(class_name="BinaryAccuracy", threshold=no_worse_than_baseline),
                tfma.MetricConfig(class_name="AUC"),
                tfma.MetricConfig(class_name="Precision"),
                tfma.MetricConfig(class_name="Recall"),
                tfma.MetricConfig(class_name="BinaryCrossEntropy"),
                tfma.MetricConfig(class_name="ConfusionMatrixPlot"),
                tfma.MetricConfig(class_name="CalibrationPlot"),
            ]),
        ],
    )
