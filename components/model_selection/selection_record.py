"""`selection.json`: what ModelSelection decided and from which numbers, written into its blessing artifact.

The run summary and the report read it through `SelectionRecord.from_json`; no TFX here, so they stay light.
"""
import dataclasses
import json
import math
from typing import Dict, Mapping, Optional, Tuple

from components.model_selection.rules import SelectionDecision

SELECTION_FILE = "selection.json"


def json_numbers(metrics: Mapping[str, float]) -> Dict[str, Optional[float]]:
    """`metrics` with NaN as None: JSON has no NaN, and TFMA reports e.g. precision as NaN for a model that never
    predicts the positive class."""
    return {name: None if math.isnan(value) else value for name, value in metrics.items()}


@dataclasses.dataclass(frozen=True)
class SelectionRecord:
    """The decision, the test metrics it was made from, and the artifacts involved."""

    decision: SelectionDecision
    tie_breakers: Tuple[str, ...]
    metrics: Dict[str, Dict[str, Optional[float]]]  # method -> TFMA metric name -> value (None for NaN)
    model_uris: Dict[str, str]  # method -> its Trainer's Model artifact
    selected_from: str  # the model artifact copied into the selection's own Model output
    selected_model_uri: str
    evaluation_uri: str

    @property
    def should_push(self) -> bool:
        return self.decision.should_push

    def to_json(self) -> str:
        document = dataclasses.asdict(self)
        document["should_push"] = self.should_push  # for people who open the file
        return json.dumps(document, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SelectionRecord":
        document = json.loads(text)
        return cls(decision=SelectionDecision(**document["decision"]),
                   tie_breakers=tuple(document["tie_breakers"]), metrics=document["metrics"],
                   model_uris=document["model_uris"], selected_from=document["selected_from"],
                   selected_model_uri=document["selected_model_uri"], evaluation_uri=document["evaluation_uri"])
