"""`selection.json`: the study (per-seed results, interval, test, verdict), the rule and the model it chose,
written into ModelSelection's blessing artifact.

The run summary and the report read it through `SelectionRecord.from_json`; no TFX here, so they stay light.
"""
import dataclasses
import json
import math
from typing import Any, Dict, List, Mapping, Optional

from components.model_selection.paired_statistics import SeedResult, Study
from components.model_selection.rules import Candidate, Choice, ServingModel

SELECTION_FILE = "selection.json"


def json_numbers(metrics: Mapping[str, float]) -> Dict[str, Optional[float]]:
    """`metrics` with NaN as None: JSON has no NaN, and TFMA reports e.g. precision as NaN for a model that never
    predicts the positive class."""
    return {name: None if math.isnan(value) else value for name, value in metrics.items()}


@dataclasses.dataclass(frozen=True)
class SelectionRecord:
    """What was compared, what it showed, and what was pushed; seeds are keys as strings (JSON objects)."""

    study: Study
    rule: str
    choice: Choice
    candidates: List[Candidate]
    test_metrics: Dict[str, Dict[str, Dict[str, Optional[float]]]]  # seed -> method -> TFMA metric -> value
    model_uris: Dict[str, Dict[str, str]]  # seed -> method -> its Trainer's Model artifact
    evaluation_uris: Dict[str, str]  # seed -> its Evaluator's output
    selected_from: str  # the model artifact copied into the selection's own Model output
    selected_model_uri: str

    @property
    def should_push(self) -> bool:
        return self.choice.should_push

    def to_json(self) -> str:
        document = dataclasses.asdict(self)
        # For people who open the file: the derived values beside the stored ones.
        document["should_push"] = self.should_push
        document["study"]["seed_caveat"] = self.study.seed_caveat
        for row, result in zip(document["study"]["seeds"], self.study.seeds):
            row["difference"] = result.difference
        return json.dumps(document, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SelectionRecord":
        document = json.loads(text)
        study: Dict[str, Any] = dict(document["study"])
        study.pop("seed_caveat", None)
        seeds = [SeedResult(**{key: value for key, value in row.items() if key != "difference"})
                 for row in study.pop("seeds")]
        study["interval_95"] = tuple(study["interval_95"])
        choice = dict(document["choice"])
        if choice.get("serving") is not None:
            choice["serving"] = ServingModel(**choice["serving"])
        return cls(study=Study(seeds=seeds, **study), rule=document["rule"], choice=Choice(**choice),
                   candidates=[Candidate(**row) for row in document["candidates"]],
                   test_metrics=document["test_metrics"], model_uris=document["model_uris"],
                   evaluation_uris=document["evaluation_uris"], selected_from=document["selected_from"],
                   selected_model_uri=document["selected_model_uri"])
