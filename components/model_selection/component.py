"""ModelSelection: the TFX step between the Evaluator and the Pusher that picks the GC or the baseline model.

The Evaluator's blessing speaks only for its candidate, so it cannot push "whichever is better". This component
reads both models' TFMA metrics, applies `rules.select_better_model`, copies the chosen model into its own Model
output and writes a ModelBlessing the standard Pusher understands (custom property `blessed` = 1 or 0).
"""
import os
from typing import Sequence

from absl import logging
from tfx import types
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.io import fileio
from tfx.types import standard_artifacts
from tfx.utils import io_utils, path_utils
from tfx.v1.dsl.components import InputArtifact, OutputArtifact, Parameter, component

from components.model_selection import rules, tfma_metrics
from components.model_selection.selection_record import SELECTION_FILE, SelectionRecord, json_numbers
from trainer.config import BASELINE, GC, METHODS

# Custom properties set on both outputs, besides the blessing's `blessed`, `current_model`, `current_model_id` and the
# model's `selected_from`.
WINNER_PROPERTY = "winner"  # "gc", "baseline", or "none" when the best model misses the floor
BEST_PROPERTY = "best"
METRIC_PROPERTY = "metric"
VALUE_PROPERTIES = {method: f"{method}_value" for method in METHODS}
QUALITY_FLOOR_PROPERTY = "quality_floor"
DECIDED_BY_PROPERTY = "decided_by"
REASON_PROPERTY = "reason"
SELECTED_FROM_PROPERTY = "selected_from"  # URI of the input Model that the output model was copied from
NO_WINNER = "none"


def parse_tie_breakers(tie_breakers: str) -> Sequence[str]:
    """Metric names from a comma-separated parameter.

    A string rather than a list because every runner passes strings through unchanged, while Kubeflow V2 turns
    list parameters into JSON text.
    """
    return tuple(name.strip() for name in tie_breakers.split(",") if name.strip())


@component
def ModelSelection(  # pylint: disable=invalid-name  (TFX components are named like classes)
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation],
    gc_model: InputArtifact[standard_artifacts.Model],
    baseline_model: InputArtifact[standard_artifacts.Model],
    model: OutputArtifact[standard_artifacts.Model],
    blessing: OutputArtifact[standard_artifacts.ModelBlessing],
    quality_floor: Parameter[float],
    metric: Parameter[str] = rules.PRIMARY_METRIC,
    tie_breakers: Parameter[str] = "auc",
) -> None:
    """Selects the better of the GC and the baseline model, for the standard Pusher.

    Args:
      evaluation: the Evaluator's output, with TFMA models named "gc" (the Evaluator's candidate) and "baseline".
      gc_model: the GC Trainer's model (the Evaluator's `model`).
      baseline_model: the baseline Trainer's model (the Evaluator's `baseline_model`).
      model: receives a copy of the selected model; of the better one, unblessed, when none meets the floor.
      blessing: `blessed` 1 when a model was selected, else 0; `selection.json` explains the decision.
      quality_floor: worst acceptable value of `metric` (a ceiling when lower is better); the only place the
        pipeline applies it.
      metric: TFMA metric name deciding the comparison; its direction follows from the name.
      tie_breakers: comma-separated metric names consulted in order when `metric` ties.
    """
    metrics_by_model = tfma_metrics.load_overall_metrics_by_model(evaluation.uri)
    metrics = {method: tfma_metrics.metrics_of_model(metrics_by_model, method) for method in METHODS}
    tie_breaker_names = parse_tie_breakers(tie_breakers)
    decision = rules.select_better_model(metrics[GC], metrics[BASELINE], quality_floor=quality_floor, metric=metric,
                                         tie_breakers=tie_breaker_names)
    logging.info("Model selection: %s", decision.reason)

    models = {GC: gc_model, BASELINE: baseline_model}
    source = models[decision.best]
    copy_model_artifact(source, model.uri)
    model.set_string_custom_property(SELECTED_FROM_PROPERTY, source.uri)
    _set_decision_properties(model, decision)

    _bless(blessing, decision, source)
    record = SelectionRecord(
        decision=decision, tie_breakers=tuple(tie_breaker_names),
        metrics={method: json_numbers(method_metrics) for method, method_metrics in metrics.items()},
        model_uris={method: artifact.uri for method, artifact in models.items()}, selected_from=source.uri,
        selected_model_uri=model.uri, evaluation_uri=evaluation.uri)
    io_utils.write_string_file(os.path.join(blessing.uri, SELECTION_FILE), record.to_json())


def copy_model_artifact(source: types.Artifact, destination_uri: str) -> None:
    """Copies a Model artifact's files to `destination_uri`, in the folder layout of the current TFX version.

    Pusher and Evaluator look for the SavedModel under `Format-Serving`, except in artifacts without a TFX version
    (Importer outputs, say), which they read in the pre-0.29 layout (`serving_model_dir`). Our output is always
    stamped with the current version, so an old-layout source is renamed on the way.
    """
    if not path_utils.is_old_model_artifact(source):
        io_utils.copy_dir(source.uri, destination_uri)
        return
    for model_dir in (path_utils.serving_model_dir, path_utils.eval_model_dir):
        old_layout_dir = model_dir(source.uri, True)
        if fileio.exists(old_layout_dir):
            io_utils.copy_dir(old_layout_dir, model_dir(destination_uri, False))


def _bless(blessing: types.Artifact, decision: rules.SelectionDecision, source: types.Artifact) -> None:
    """Marks the blessing exactly as the Evaluator does, so the standard Pusher and resolvers read it."""
    blessing.set_int_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY,
        evaluator_constants.BLESSED_VALUE if decision.should_push else evaluator_constants.NOT_BLESSED_VALUE)
    # The blessed (or rejected) input model; LatestBlessedModelStrategy finds it by this id.
    blessing.set_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, source.uri)
    blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, source.id)
    marker = (evaluator_constants.BLESSED_FILE_NAME if decision.should_push
              else evaluator_constants.NOT_BLESSED_FILE_NAME)
    io_utils.write_string_file(os.path.join(blessing.uri, marker), "")
    _set_decision_properties(blessing, decision)


def _set_decision_properties(artifact: types.Artifact, decision: rules.SelectionDecision) -> None:
    """Records the decision in ML Metadata, so it is queryable without reading selection.json."""
    artifact.set_string_custom_property(WINNER_PROPERTY, decision.winner or NO_WINNER)
    artifact.set_string_custom_property(BEST_PROPERTY, decision.best)
    artifact.set_string_custom_property(METRIC_PROPERTY, decision.metric)
    artifact.set_float_custom_property(VALUE_PROPERTIES[GC], decision.gc_value)
    artifact.set_float_custom_property(VALUE_PROPERTIES[BASELINE], decision.baseline_value)
    artifact.set_float_custom_property(QUALITY_FLOOR_PROPERTY, decision.quality_floor)
    artifact.set_string_custom_property(DECIDED_BY_PROPERTY, decision.decided_by)
    artifact.set_string_custom_property(REASON_PROPERTY, decision.reason)

