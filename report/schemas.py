"""The JSON schema of every record file, generated from the pydantic models that write and read them, so scripts
can validate `summary.json`, `selection.json`, `training_record.json` and `ingestion_summary.json` without
importing gc-tfx. `python -m report.schemas` rewrites docs/schemas/; a test fails when a committed schema differs
from its model."""
import json
import os
import sys
from typing import Dict, Type

from report.run_results import RunResults
from results.ingestion import IngestionSummary
from results.records import Record
from results.selection import SelectionRecord
from trainer.training_record import TrainingRecord

RECORDS: Dict[str, Type[Record]] = {record.FILE_NAME: record
                                    for record in (RunResults, SelectionRecord, TrainingRecord, IngestionSummary)}


def schema_file_name(record_file: str) -> str:
    return record_file.replace(".json", ".schema.json")


def schema_text(record: Type[Record]) -> str:
    """The schema of the record as written (computed fields included), stable text for a diff."""
    return json.dumps(record.model_json_schema(mode="serialization"), indent=2, sort_keys=True) + "\n"


def write_schemas(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for record_file, record in RECORDS.items():
        with open(os.path.join(folder, schema_file_name(record_file)), "w", encoding="utf-8") as schema:
            schema.write(schema_text(record))


if __name__ == "__main__":
    write_schemas(sys.argv[1] if len(sys.argv) > 1 else os.path.join("docs", "schemas"))
