"""Finds the latest run in OUTPUT/metadata.sqlite and checks that it finished, before anything is read from it.

A report of a half-finished run would show the previous run's artifacts next to missing ones, so an unfinished
latest run is an error that says how to finish it (rerunning resumes from the cache).
"""
import dataclasses
import os
from typing import Dict

from components.model_selection import rules
from pipeline import metadata_reader, run_summary
from pipeline.local_runner import OutputLayout
from pipeline.pipeline import BASELINE_TRAINER_ID, GC_TRAINER_ID

STATISTICS_GEN_ID = "StatisticsGen"
EXAMPLE_VALIDATOR_ID = "ExampleValidator"
EVALUATOR_ID = "Evaluator"
TRAINER_IDS = {rules.GC: GC_TRAINER_ID, rules.BASELINE: BASELINE_TRAINER_ID}
FINISHED_STATES = ("COMPLETE", "CACHED")
# Without these the report has nothing to compare; every other node only feeds one section, which says when it
# is missing.
REQUIRED_NODES = (run_summary.EXAMPLE_GEN_ID, EVALUATOR_ID, run_summary.SELECTION_ID, run_summary.PUSHER_ID)


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
