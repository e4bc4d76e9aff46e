"""The few lines `gc-tfx run` ends with: data counts, both models' test metrics, the winner, the push.

Everything is read back from ML Metadata and the artifacts it points to, not from in-memory state, so the
summary is the same whether components ran now or were served from the cache.
"""
import dataclasses
import json
import os
from typing import Any, Dict, Optional

from pipeline import metadata_reader

EXAMPLE_GEN_ID = "ImageExampleGen"
SELECTION_ID = "ModelSelection"
PUSHER_ID = "Pusher"
INGESTION_SUMMARY_FILE = "ingestion_summary.json"
REJECTED_FILE = "rejected.csv"
SELECTION_FILE = "selection.json"
SPLIT_NAMES = ("train", "eval", "test")

# (TFMA metric name, label for people), in the order the table shows them.
METRIC_ROWS = (
    ("binary_accuracy", "binary accuracy"),
    ("auc", "AUC"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("binary_crossentropy", "loss (binary cross-entropy)"),
    ("example_count", "test images"),
)


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """What a reader of the run wants first."""

    ingestion: Dict[str, Any]  # ingestion_summary.json
    rejected_csv: str
    selection: Dict[str, Any]  # selection.json: both models' metrics, winner, reason
    pushed_destination: Optional[str]


def _read_json(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as json_file:
        return json.load(json_file)


def load_summary(metadata_path: str) -> RunSummary:
    """Reads the latest run recorded in `metadata_path`."""
    nodes = metadata_reader.latest_run(metadata_reader.open_store(metadata_path))
    missing = [node for node in (EXAMPLE_GEN_ID, SELECTION_ID, PUSHER_ID) if node not in nodes]
    if missing:
        raise LookupError(f"The latest run in {metadata_path} has no execution of {', '.join(missing)}.")
    examples_uri = nodes[EXAMPLE_GEN_ID].output("examples").uri
    blessing_uri = nodes[SELECTION_ID].output("blessing").uri
    pushed_model = nodes[PUSHER_ID].output("pushed_model")
    pushed = metadata_reader.custom_property(pushed_model, "pushed", 0) == 1
    return RunSummary(
        ingestion=_read_json(os.path.join(examples_uri, INGESTION_SUMMARY_FILE)),
        rejected_csv=os.path.join(examples_uri, REJECTED_FILE),
        selection=_read_json(os.path.join(blessing_uri, SELECTION_FILE)),
        pushed_destination=metadata_reader.custom_property(pushed_model, "pushed_destination") if pushed else None,
    )


def _format_number(value: Optional[float], metric: str) -> str:
    if value is None:
        return "n/a"
    if metric == "example_count":
        return f"{value:.0f}"
    return f"{value:.4f}"


def _format_difference(candidate: Optional[float], baseline: Optional[float], metric: str) -> str:
    if candidate is None or baseline is None or metric == "example_count":
        return ""
    return f"{candidate - baseline:+.4f}"


def _data_line(ingestion: Dict[str, Any], rejected_csv: str) -> str:
    ingested = ingestion["ingested"]
    splits = ", ".join(
        f"{split} {sum(ingested[split].values())} ({', '.join(f'{n} {name}' for name, n in ingested[split].items())})"
        for split in SPLIT_NAMES if split in ingested)
    rejected = ingestion["rejected_total"]
    rejected_note = f"; rejected {rejected}, listed in {rejected_csv}" if rejected else "; rejected 0"
    return f"Data: {splits}{rejected_note}"


def format_summary(summary: RunSummary) -> str:
    """A short table people read at the end of a run."""
    selection = summary.selection
    candidate, baseline = selection["candidate_metrics"], selection["baseline_metrics"]
    lines = [_data_line(summary.ingestion, summary.rejected_csv), "",
             f"{'test split':<30}{'GC':>10}{'baseline':>12}{'GC - baseline':>16}"]
    for metric, label in METRIC_ROWS:
        lines.append(f"{label:<30}{_format_number(candidate.get(metric), metric):>10}"
                     f"{_format_number(baseline.get(metric), metric):>12}"
                     f"{_format_difference(candidate.get(metric), baseline.get(metric), metric):>16}")
    winner = {"gc": "GC", "baseline": "baseline (without GC)"}.get(selection.get("winner") or "", "none")
    lines += ["", f"Winner: {winner}. {selection['reason']}"]
    if summary.pushed_destination:
        lines.append(f"Pushed to {summary.pushed_destination}")
    else:
        lines.append("Nothing was pushed.")
    return "\n".join(lines)
