"""`ingestion_summary.json`: what the ExampleGen ingested and rejected, per split and class, beside `rejected.csv`
in its Examples artifact. Written by components.image_example_gen, read by the end summary and the report."""
from typing import Dict

import pydantic

from results.records import Record

REJECTED_CSV = "rejected.csv"
SUMMARY_JSON = "ingestion_summary.json"
REJECTED_COLUMNS = ("path", "split", "reason")
# Summary key for rejected files that belong to no split or no class (e.g. DATA/README.txt).
NONE_KEY = "(none)"


class IngestionSummary(Record):
    """`ingested` holds every split and class (zeros included); `rejected` counts by split and class, NONE_KEY
    standing for files outside any split or class folder."""

    FILE_NAME = SUMMARY_JSON

    data_folder: str
    eval_percent: int
    ingested: Dict[str, Dict[str, int]]  # split -> class name -> images
    rejected: Dict[str, Dict[str, int]]  # split or NONE_KEY -> class name or NONE_KEY -> files

    @pydantic.computed_field
    @property
    def ingested_total(self) -> int:
        return sum(sum(by_class.values()) for by_class in self.ingested.values())

    @pydantic.computed_field
    @property
    def rejected_total(self) -> int:
        return sum(sum(by_class.values()) for by_class in self.rejected.values())
