"""What an ingestion run did: rejected.csv, the ingestion summary (results.ingestion), and the check that every
split is usable.

Pure functions over plain values, so the same rules hold on every Beam runner and are unit-testable.
"""
import csv
import io
from typing import Dict, Iterable, List, Mapping, NamedTuple, Tuple

from results.ingestion import NONE_KEY, REJECTED_COLUMNS, IngestionSummary
from trainer.features import CLASS_NAMES, EVAL_SPLIT, SPLIT_NAMES


class Rejection(NamedTuple):
    """One file that is not an example. `split`/`class_name` are "" where the path does not give one."""

    path: str
    split: str
    class_name: str
    reason: str


class IncompleteSplitError(ValueError):
    """A split has no ingested image of some class: training or evaluation on it would be meaningless."""

    def __init__(self, data_folder: str, missing: List[Tuple[str, str]], message: str):
        super().__init__(message)
        self.data_folder = data_folder
        self.missing = missing  # (split, class name) pairs


def rejected_csv_text(rejections: Iterable[Rejection]) -> str:
    """rejected.csv: a header and one row per rejected file, sorted by path."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REJECTED_COLUMNS)
    for rejection in sorted(rejections):
        writer.writerow((rejection.path, rejection.split, rejection.reason))
    return buffer.getvalue()


def count_properties(summary: IngestionSummary) -> Dict[str, int]:
    """Integer custom properties for the Examples artifact: `ingested_<split>` per split and `rejected_total`."""
    properties = {f"ingested_{split}": sum(summary.ingested[split].values()) for split in SPLIT_NAMES}
    properties["rejected_total"] = summary.rejected_total
    return properties


def build_summary(ingested_counts: Iterable[Tuple[Tuple[str, str], int]], rejections: Iterable[Rejection],
                  data_folder: str, eval_percent: int) -> IngestionSummary:
    """Counts ingested images per split and class (zeros included) and rejected files per split and class."""
    ingested = {split: {class_name: 0 for class_name in CLASS_NAMES} for split in SPLIT_NAMES}
    for (split, class_name), count in ingested_counts:
        ingested[split][class_name] += count
    rejected: Dict[str, Dict[str, int]] = {}
    for rejection in rejections:
        by_class = rejected.setdefault(rejection.split or NONE_KEY, {})
        class_key = rejection.class_name or NONE_KEY
        by_class[class_key] = by_class.get(class_key, 0) + 1
    return IngestionSummary(
        data_folder=data_folder, eval_percent=eval_percent, ingested=ingested,
        rejected={split: dict(sorted(by_class.items())) for split, by_class in sorted(rejected.items())})


def _describe_missing(split: str, class_name: str, ingested: Mapping[str, int],
                      rejected: Mapping[str, int]) -> str:
    counts = ", ".join(f"{name}={count}" for name, count in ingested.items())
    line = (f"split {split!r} has no images of class {class_name!r} (ingested: {counts}; "
            f"rejected from that split and class: {rejected.get(class_name, 0)})")
    if split == EVAL_SPLIT:
        line += "; eval is carved from train/ by hash, so add training images or raise eval_percent"
    return line


def check_every_split_has_every_class(summary: IngestionSummary, rejected_csv_uri: str) -> None:
    """Raises IncompleteSplitError naming the data folder and each (split, class) without an ingested image."""
    missing = [(split, class_name) for split in SPLIT_NAMES for class_name in CLASS_NAMES
               if summary.ingested[split][class_name] == 0]
    if not missing:
        return
    lines = [_describe_missing(split, class_name, summary.ingested[split], summary.rejected.get(split, {}))
             for split, class_name in missing]
    message = (f"Data folder {summary.data_folder!r} cannot be used: " + "; ".join(lines) +
               f". Why files were rejected: {rejected_csv_uri}")
    raise IncompleteSplitError(summary.data_folder, missing, message)
