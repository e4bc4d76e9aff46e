"""Finds the latest local run in OUTPUT/metadata.sqlite, checks that it finished, and names its artifacts.

A report of a half-finished run would show the previous run's artifacts next to missing ones, so an unfinished
latest run is an error that says how to finish it (rerunning resumes from the cache). What the run produced is
read from ML Metadata, not from in-memory state, so the end summary and the report are the same whether components
ran now or were served from the cache; reading the artifacts themselves is report.run_results' job, the same code
the pipeline's review step runs.
"""
import dataclasses
import os
from typing import Dict, Optional, Tuple

from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx.types import artifact_utils

from cli import metadata_reader
from local_runner import OutputLayout
from pipeline.experiment import (EXAMPLE_GEN_ID, EXAMPLE_VALIDATOR_ID, MODEL_SELECTION_ID, PUSHER_ID,
                                 STATISTICS_GEN_ID, evaluator_id, trainer_id)
from report.build import ReportFiles, write_report
from report.run_results import ResultsError, RunArtifacts, RunInfo, RunResults, load_run_results
from results.selection import SelectionRecord
from trainer.config import METHODS

REPORT_FOLDER = "report"  # OUTPUT/report/: index.html and summary.json
FINISHED_STATES = ("COMPLETE", "CACHED")
# Without these the report has nothing to compare; every other node only feeds one section, which says when it
# is missing. (The Trainers and Evaluators are named by seed; the selection record lists them.)
REQUIRED_NODES = (EXAMPLE_GEN_ID, MODEL_SELECTION_ID, PUSHER_ID)


class RunNotFinished(Exception):
    """There is no finished run to read (no metadata, no run, an unfinished one); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class LatestRun:
    """The latest run's executions, by node id, and where its ML Metadata lives."""

    output_root: str
    metadata_path: str
    nodes: Dict[str, metadata_reader.NodeExecution]
    artifact_types: Dict[int, metadata_store_pb2.ArtifactType]

    def info(self) -> RunInfo:
        return RunInfo(
            output=os.path.abspath(self.output_root), metadata=os.path.abspath(self.metadata_path),
            started_ms=min(node.execution.create_time_since_epoch for node in self.nodes.values()),
            finished_ms=max(node.execution.last_update_time_since_epoch for node in self.nodes.values()),
            node_states={node_id: node.state for node_id, node in self.nodes.items()})

    def artifact(self, node_id: str, key: str) -> Optional[types.Artifact]:
        """A node's single output as a typed TFX artifact; None when the node did not run."""
        if node_id not in self.nodes:
            return None
        proto = self.nodes[node_id].output(key)
        return artifact_utils.deserialize_artifact(self.artifact_types[proto.type_id], proto)

    def artifacts(self) -> RunArtifacts:
        """The artifacts a review reads; LookupError/OSError/ValueError when the selection cannot be read."""
        blessing = self.artifact(MODEL_SELECTION_ID, "blessing")
        seeds = [int(seed) for seed in SelectionRecord.read_in(blessing.uri).model_uris]
        model_runs = {(method, seed): self.artifact(trainer_id(method, seed), "model_run")
                      for seed in seeds for method in METHODS}
        return RunArtifacts(
            examples=self.artifact(EXAMPLE_GEN_ID, "examples"), blessing=blessing,
            evaluations={seed: self.artifact(evaluator_id(seed), "evaluation") for seed in seeds
                         if evaluator_id(seed) in self.nodes},
            model_runs={key: artifact for key, artifact in model_runs.items() if artifact is not None},
            pushed_model=self.artifact(PUSHER_ID, "pushed_model"),
            statistics=self.artifact(STATISTICS_GEN_ID, "statistics"),
            anomalies=self.artifact(EXAMPLE_VALIDATOR_ID, "anomalies"))


def find_latest_run(output_root: str) -> LatestRun:
    """The latest run recorded under `output_root`; RunNotFinished unless every one of its nodes finished."""
    metadata_path = OutputLayout(output_root).metadata_path
    rerun = f"gc-tfx run --output {output_root}"
    if not os.path.isfile(metadata_path):
        raise RunNotFinished(f"No ML Metadata at {metadata_path}: {output_root} holds no gc-tfx run. Run `{rerun}` "
                             f"first, or pass the --output folder of an earlier run.")
    store = metadata_reader.open_store(metadata_path)
    nodes = metadata_reader.latest_run(store)
    if not nodes:
        raise RunNotFinished(f"{metadata_path} records no pipeline run yet. Run `{rerun}` first.")
    problems = [f"{node_id} is {node.state}" for node_id, node in sorted(nodes.items())
                if node.state not in FINISHED_STATES]
    problems += [f"{node_id} did not run" for node_id in REQUIRED_NODES if node_id not in nodes]
    if problems:
        raise RunNotFinished(f"The latest run in {metadata_path} did not finish ({'; '.join(problems)}), so there is "
                             f"nothing complete to report. Rerun `{rerun}` with the same flags: it resumes from the "
                             f"cache.")
    return LatestRun(output_root=output_root, metadata_path=metadata_path, nodes=nodes,
                     artifact_types={artifact_type.id: artifact_type for artifact_type in store.get_artifact_types()})


def write_local_report(output_root: str) -> Tuple[RunResults, ReportFiles]:
    """Reads the latest run under `output_root` and writes OUTPUT/report/{index.html,summary.json}: the same code
    as the pipeline's review step, with the run's ML Metadata record in the header.

    Raises RunNotFinished when there is no finished run, ResultsError when its results cannot be read.
    """
    run = find_latest_run(output_root)
    try:
        artifacts = run.artifacts()
    except (LookupError, OSError, ValueError) as error:
        raise ResultsError(f"the run's results cannot be read: {error}") from error
    results = load_run_results(artifacts, run.info())
    return results, write_report(results, os.path.join(output_root, REPORT_FOLDER))
