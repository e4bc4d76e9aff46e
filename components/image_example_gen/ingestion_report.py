"""What an ingestion run did: rejected.csv, ingestion_summary.json, and the check that every split is usable.

Pure functions over plain values, so the same rules hold on every Beam runner and are unit-testable.
"""
import csv
import io
from typing import Dict, Iterable, List, Mapping, NamedTuple, Tuple

from trainer.features import CLASS_NAMES

from components.image_example_gen.layout import EVAL_SPLIT, SPLIT_NAMES

REJECTED_CSV = "rejected.csv"
SUMMARY_JSON = "ingestion_summary.json"
REJECTED_COLUMNS = ("path", "split", "reason")
# Summary key for rejected files that belong to no split or no class (e.g. DATA/README.txt).
NONE_KEY = "(none)"


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


def build_summary(ingested_counts: Iterable[Tuple[Tuple[str, str], int]], rejections: Iterable[Rejection],
                  data_folder: str, eval_percent: int) -> Dict[str, object]:
    """ingestion_summary.json as a dict: ingested counts for every split and class (zeros included), and
    rejected counts by split and class, "(none)" standing for files outside any split or class folder."""
    ingested = {split: {class_name: 0 for class_name in CLASS_NAMES} for split in SPLIT_NAMES}
    for (split, class_name), count in ingested_counts:
        ingested[split][class_name] += count
    rejected: Dict[str, Dict[str, int]] = {}
    rejected_total = 0
    for rejection in rejections:
        by_class = rejected.setdefault(rejection.split or NONE_KEY, {})
        class_key = rejection.class_name or NONE_KEY
        by_class[class_key] = by_class.get(class_key, 0) + 1
        rejected_total += 1
    return {
        "data_folder": data_folder,
        "eval_percent": eval_percent,
        "ingested": ingested,
        "rejected": {split: dict(sorted(by_class.items())) for split, by_class in sorted(rejected.items())},
        "ingested_total": sum(sum(by_class.values()) for by_class in ingested.values()),
        "rejected_total": rejected_total,
    }


def _describe_missing(split: str, class_name: str, ingested: Mapping[str, int],
                      rejected: Mapping[str, int]) -> str:
    counts = ", ".join(f"{name}={count}" for name, count in ingested.items())
    line = (f"split {split!r} has no images of class {class_name!r} (ingested: {counts}; "
            f"rejected from that split and class: {rejected.get(class_name, 0)})")
    if split == EVAL_SPLIT:
        line += "; eval is carved from train/ by hash, so add training images or raise eval_percent"
    return line


def check_every_split_has_every_class(summary: Mapping[str, object], rejected_csv_uri: str) -> None:
    """Raises IncompleteSplitError naming the data folder and each (split, class) without an ingested image."""
    ingested: Mapping[str, Mapping[str, int]] = summary["ingested"]  # type: ignore[assignment]
    rejected: Mapping[str, Mapping[str, int]] = summary["rejected"]  # type: ignore[assignment]
    missing = [(split, class_name) for split in SPLIT_NAMES for class_name in CLASS_NAMES
               if ingested[split][class_name] == 0]
    if not missing:
        return
    data_folder = str(summary["data_folder"])
    lines = [_describe_missing(split, class_name, ingested[split], rejected.get(split, {}))
             for split, class_name in missing]
    message = (f"Data folder {data_folder!r} cannot be used: " + "; ".join(lines) +
               f". Why files were rejected: {rejected_csv_uri}")
    raise IncompleteSplitError(data_folder, missing, message)


def count_properties(summary: Mapping[str, object]) -> Dict[str, int]:
    """Integer custom properties for the Examples artifact: `ingested_<split>` per split and `rejected_total`."""
    ingested: Mapping[str, Mapping[str, int]] = summary["ingested"]  # type: ignore[assignment]
    properties = {f"ingested_{split}": sum(ingested[split].values()) for split in SPLIT_NAMES}
    properties["rejected_total"] = int(summary["rejected_total"])  # type: ignore[arg-type]
    return properties
