"""Everything the report shows, read from the latest run's ML Metadata and artifacts into one value.

The comparison itself (ingestion, both models' test metrics, the selection and the push) must be there, or there
is no report. Every other piece (plots, training records, statistics, anomalies) may be missing, from an older
pipeline or a damaged artifact; then the piece is None and `notes` says why, so the page can say it too.
"""
import csv
import dataclasses
import os
from typing import Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

from absl import logging
from ml_metadata.proto import metadata_store_pb2

from components.image_example_gen.ingestion_report import IngestionSummary
from components.image_example_gen.layout import SPLIT_NAMES
from components.model_selection import tfma_metrics
from components.model_selection.selection_record import SelectionRecord
from report import data_statistics, evaluation_results, formatting, training_records
from pipeline.experiment import evaluator_id, trainer_id
from report.run_artifacts import (EXAMPLE_VALIDATOR_ID, STATISTICS_GEN_ID, LatestRun, ReportError, find_latest_run,
                                  load_outcome)
from trainer.config import METHODS
from trainer.training_record import TrainingRecord

MODEL_KEYS = METHODS  # the report keys models by method, as TFMA does
REJECTED_ROWS_SHOWN = 200  # the rest stay in rejected.csv; a page of thousands of rows helps nobody

ValueT = TypeVar("ValueT")


def in_split_order(by_split: Mapping[str, ValueT]) -> Dict[str, ValueT]:
    """train, eval, test first (the order data flows through the pipeline), then any other key as found."""
    order = {split: index for index, split in enumerate(SPLIT_NAMES)}
    return dict(sorted(by_split.items(), key=lambda item: order.get(item[0], len(order))))


@dataclasses.dataclass(frozen=True)
class ModelResult:
    """One model: its test metrics (TFMA names), its plots and its training record."""

    key: str  # a method: GC or BASELINE
    label: str
    test_metrics: Dict[str, float]
    plots: Optional[evaluation_results.ModelPlots]
    model_run_uri: Optional[str]  # the Trainer's model_run artifact: training record and TensorBoard logs
    training: Optional[TrainingRecord]


@dataclasses.dataclass(frozen=True)
class ReportData:
    """The latest run, ready to render. `notes` maps a missing piece's name to why it is missing."""

    output_root: str
    metadata_path: str
    started_ms: int
    finished_ms: int
    node_states: Dict[str, str]
    ingestion: IngestionSummary
    rejected_csv: str
    rejected_rows: List[Dict[str, str]]  # the first REJECTED_ROWS_SHOWN rows of rejected.csv
    selection: SelectionRecord
    pushed_destination: Optional[str]
    models: Dict[str, ModelResult]  # by MODEL_KEYS: the pair of `models_seed`
    models_seed: int  # the seed of the chosen model, whose pair the per-model sections show
    evaluator_check: Optional[evaluation_results.EvaluatorCheck]
    statistics: Optional[List[data_statistics.SplitStatistics]]
    anomalies: Optional[Dict[str, Tuple[data_statistics.Anomaly, ...]]]
    notes: Dict[str, str]


def training_piece(model_key: str) -> str:
    """The `notes` key saying why a model's training record is missing."""
    return f"training {model_key}"


def _optional(notes: Dict[str, str], piece: str, load: Callable[[], ValueT]) -> Optional[ValueT]:
    """`load()`, or None with a note when its artifact is missing or unreadable."""
    try:
        return load()
    except (LookupError, OSError, ValueError) as error:  # no such node/output, no file, a malformed file
        logging.warning("Report: no %s: %s", piece, error)
        notes[piece] = str(error) or type(error).__name__
        return None


def _artifact(run: LatestRun, node_id: str, key: str) -> metadata_store_pb2.Artifact:
    if node_id not in run.nodes:
        raise LookupError(f"{node_id} did not run in the latest run")
    return run.nodes[node_id].output(key)


def _read_rejected_rows(rejected_csv: str) -> List[Dict[str, str]]:
    with open(rejected_csv, newline="", encoding="utf-8") as rejected_file:
        rows = []
        for row in csv.DictReader(rejected_file):
            if len(rows) == REJECTED_ROWS_SHOWN:
                break
            rows.append({"path": row["path"], "split": row["split"], "reason": row["reason"]})
    return rows


def _evaluator_check(evaluation_uri: str) -> evaluation_results.EvaluatorCheck:
    check = evaluation_results.load_evaluator_check(evaluation_uri)
    if check is None:
        raise LookupError(f"the Evaluator wrote no validation result in {evaluation_uri} (no thresholds configured)")
    return check


def _model_results(run: LatestRun, evaluation_uri: str, seed: int,
                   notes: Dict[str, str]) -> Dict[str, ModelResult]:
    metrics_by_model = tfma_metrics.load_overall_metrics_by_model(evaluation_uri)
    plots_by_model = _optional(notes, "plots", lambda: evaluation_results.load_plots_by_model(evaluation_uri)) or {}
    if not plots_by_model and "plots" not in notes:
        notes["plots"] = f"the Evaluator wrote no plots for the overall slice in {evaluation_uri}"
    results = {}
    for key in MODEL_KEYS:
        model_run_uri = _optional(notes, training_piece(key),
                                  lambda node=trainer_id(key, seed): _artifact(run, node, "model_run").uri)
        training = None if model_run_uri is None else _optional(
            notes, training_piece(key), lambda uri=model_run_uri: training_records.load_training_record(uri))
        results[key] = ModelResult(key=key, label=formatting.METHOD_LABELS[key],
                                   test_metrics=tfma_metrics.metrics_of_model(metrics_by_model, key),
                                   plots=plots_by_model.get(key), model_run_uri=model_run_uri, training=training)
    return results


def load_report_data(output_root: str) -> ReportData:
    """Reads the latest run under `output_root`; raises ReportError when there is no finished run to report."""
    run = find_latest_run(output_root)
    try:
        outcome = load_outcome(run)
        seed = outcome.selection.choice.seed
        evaluation_uri = _artifact(run, evaluator_id(seed), "evaluation").uri
        notes: Dict[str, str] = {}
        models = _model_results(run, evaluation_uri, seed, notes)
        rejected_rows = _read_rejected_rows(outcome.rejected_csv)
    except (LookupError, OSError, ValueError) as error:
        raise ReportError(f"The latest run in {run.metadata_path} finished, but its results cannot be read: "
                          f"{error}") from error
    return ReportData(
        output_root=os.path.abspath(output_root),
        metadata_path=os.path.abspath(run.metadata_path),
        started_ms=run.started_ms(),
        finished_ms=run.finished_ms(),
        node_states={node_id: node.state for node_id, node in run.nodes.items()},
        ingestion=outcome.ingestion,
        rejected_csv=outcome.rejected_csv,
        rejected_rows=rejected_rows,
        selection=outcome.selection,
        pushed_destination=outcome.pushed_destination,
        models=models,
        models_seed=seed,
        evaluator_check=_optional(notes, "evaluator check", lambda: _evaluator_check(evaluation_uri)),
        statistics=_optional(notes, "statistics", lambda: data_statistics.load_split_statistics(
            _artifact(run, STATISTICS_GEN_ID, "statistics"))),
        anomalies=_optional(notes, "anomalies", lambda: data_statistics.load_anomalies(
            _artifact(run, EXAMPLE_VALIDATOR_ID, "anomalies"))),
        notes=notes,
    )

