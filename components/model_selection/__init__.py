"""Model selection: push whichever of the GC and the baseline model is better, if it is good enough.

`rules` holds the decision (pure Python), `tfma_metrics` reads the Evaluator's output, `component` is the TFX step.
"""
from components.model_selection.component import SELECTION_FILE_NAME, ModelSelection
from components.model_selection.rules import BASELINE, GC, SelectionDecision, select_better_model
from components.model_selection.tfma_metrics import BASELINE_MODEL_NAME, CANDIDATE_MODEL_NAME

__all__ = [
    "BASELINE",
    "BASELINE_MODEL_NAME",
    "CANDIDATE_MODEL_NAME",
    "GC",
    "ModelSelection",
    "SELECTION_FILE_NAME",
    "SelectionDecision",
    "select_better_model",
]
