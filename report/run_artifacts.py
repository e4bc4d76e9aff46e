"""Finds the latest run in OUTPUT/metadata.sqlite, checks that it finished, and reads its typed records.

A report of a half-finished run would show the previous run's artifacts next to missing ones, so an unfinished
latest run is an error that says how to finish it (rerunning resumes from the cache). The records (ingestion
summary, selection, push) are read back from ML Metadata and the artifacts it points to, not from in-memory state,
so the report and the console summary are the same whether components ran now or were served from the cache.
"""
import dataclasses
import os
from typing import Dict, Optional

from components.image_example_gen.ingestion_report import REJECTED_CSV, SUMMARY_JSON, IngestionSummary
from components.model_selection.selection_record import SELECTION_FILE, SelectionRecord
from local_runner import OutputLayout
from report import metadata_reader

EXAMPLE_GEN_ID = "ImageExampleGen"
STATISTICS_GEN_ID = "StatisticsGen"
EXAMPLE_VALIDATOR_ID = "ExampleValidator"
SELECTION_ID = "ModelSelection"
PUSHER_ID = "Pusher"
FINISHED_STATES = ("COMPLETE", "CACHED")
# Without these the report has nothing to compare; every other node only feeds one section, which says when it
# is missing. (The Trainers and Evaluators are named by seed; the selection record lists them.)
REQUIRED_NODES = (EXAMPLE_GEN_ID, SELECTION_ID, PUSHER_ID)


class ReportError(Exception):
    """The report cannot be built (no metadata, no finished run); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class LatestRun:
    """The latest run's executions, by node id, and where its ML Metadata lives."""

    metadata_path: str
    nodes: Dict[str, metadata_reader.NodeExecution]

    def started_ms(self) -> int:
        """When the first execution of the run was created (ms since the epoch)."""
        return min(node.execution.create_time_since_epoch for node in self.nodes.values())

    def finished_ms(self) -> int:
        """When the last execution of the run was last updated (ms since the epoch)."""
        return max(node.execution.last_update_time_since_epoch for node in self.nodes.values())


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What a reader of the run wants first: the data, the selection and the push."""

    ingestion: IngestionSummary
    rejected_csv: str
    selection: SelectionRecord
    pushed_destination: Optional[str]  # None when nothing was pushed


def find_latest_run(output_root: str) -> LatestRun:
    """The latest run recorded under `output_root`; raises ReportError unless every one of its nodes finished."""
    metadata_path = OutputLayout(output_root).metadata_path
    rerun = f"gc-tfx run --output {output_root}"
    if not os.path.isfile(metadata_path):
        raise ReportError(f"No ML Metadata at {metadata_path}: {output_root} holds no gc-tfx run. Run `{rerun}` "
                          f"first, or pass the --output folder of an earlier run.")
    nodes = metadata_reader.latest_run(metadata_reader.open_store(metadata_path))
    if not nodes:
        raise ReportError(f"{metadata_path} records no pipeline run yet. Run `{rerun}` first.")
    problems = [f"{node_id} is {node.state}" for node_id, node in sorted(nodes.items())
                if node.state not in FINISHED_STATES]
    problems += [f"{node_id} did not run" for node_id in REQUIRED_NODES if node_id not in nodes]
    if problems:
        raise ReportError(f"The latest run in {metadata_path} did not finish ({'; '.join(problems)}), so there is "
                          f"nothing complete to report. Rerun `{rerun}` with the same flags: it resumes from the "
                          f"cache.")
    return LatestRun(metadata_path=metadata_path, nodes=nodes)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as text_file:
        return text_file.read()


def load_outcome(run: LatestRun) -> RunOutcome:
    """The run's ingestion summary, selection record and push; LookupError/OSError/ValueError when unreadable."""
    examples_uri = run.nodes[EXAMPLE_GEN_ID].output("examples").uri
    blessing_uri = run.nodes[SELECTION_ID].output("blessing").uri
    pushed_model = run.nodes[PUSHER_ID].output("pushed_model")
    pushed = metadata_reader.custom_property(pushed_model, "pushed", 0) == 1
    return RunOutcome(
        ingestion=IngestionSummary.from_json(_read_text(os.path.join(examples_uri, SUMMARY_JSON))),
        rejected_csv=os.path.join(examples_uri, REJECTED_CSV),
        selection=SelectionRecord.from_json(_read_text(os.path.join(blessing_uri, SELECTION_FILE))),
        pushed_destination=metadata_reader.custom_property(pushed_model, "pushed_destination") if pushed else None,
    )
