"""`selection.json`: the study, the push rule, every candidate's scores and the model chosen, written by
ModelSelection into its blessing artifact and read by the end summary, the report and the review step.
"""
from typing import Dict, List, Optional

import pydantic

from results.paired_statistics import Study
from results.records import Number, Record

SELECTION_FILE = "selection.json"
# Two scores closer than this count as equal. TFMA's metrics are float32: 1e-6 absorbs rounding (a float32 step
# just below 1.0 is 6e-8) yet is far below what one example changes on any test set under a million examples.
TOLERANCE = 1e-6


class Candidate(Record):
    """One trained model: its method and seed, the eval-split scores its Trainer recorded after its last epoch,
    and its test value of the primary metric (TFMA's)."""

    method: str
    seed: int
    eval_accuracy: float
    eval_log_loss: float
    test_value: float


class ServingModel(Record):
    """The newest version at the push destination, scored on this run's test split: its recorded metrics came
    from other data, so only a fresh score can be compared with the candidates'."""

    path: str
    version: str
    test_value: float


class Choice(Record):
    """The model to push (`method`, `seed`) and whether it may be pushed."""

    method: str
    seed: int
    test_value: float
    quality_floor: float
    should_push: bool
    reason: str
    serving: Optional[ServingModel] = None  # None: nothing was serving
    forced: bool = False  # pushed only because force_push overrode the serving model's guard


class SelectionRecord(Record):
    """What was compared, what it showed, and what was chosen; seeds are keys as strings (JSON objects)."""

    FILE_NAME = SELECTION_FILE

    study: Study
    rule: str
    choice: Choice
    candidates: List[Candidate]
    test_metrics: Dict[str, Dict[str, Dict[str, Number]]]  # seed -> method -> TFMA metric -> value
    model_uris: Dict[str, Dict[str, str]]  # seed -> method -> its Trainer's Model artifact
    evaluation_uris: Dict[str, str]  # seed -> its Evaluator's output
    selected_from: str  # the model artifact copied into the selection's own Model output
    selected_model_uri: str

    @pydantic.computed_field
    @property
    def should_push(self) -> bool:
        return self.choice.should_push
