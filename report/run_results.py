"""Everything a run's review shows, read from its artifacts into one typed value, `RunResults`.

The same value feeds the HTML page, `summary.json` (its JSON form), the Markdown and KFP metrics of the pipeline's
review step, and the console's end summary, so they cannot disagree. It is read from artifacts, not from a
database: the review step gets them as its inputs (locally and on Kubeflow alike), `gc-tfx report` finds the same
ones in ML Metadata.

The comparison itself (ingestion, the selection with its study, both models' TFMA metrics) must be there, or
there is nothing to review. Every other piece (plots, training records, statistics, anomalies) may be missing, from
an older pipeline or a damaged artifact; then the piece is None and `notes` says why, so the page can say it too.
"""
import csv
import dataclasses
import itertools
import os
import shlex
from typing import Callable, Dict, List, Optional, Tuple, TypeVar

import pydantic
from absl import logging
from tfx import types

from report import data_statistics, tfma_results
from results.ingestion import REJECTED_CSV, IngestionSummary
from results.records import Number, Record, open_text
from results.selection import TOLERANCE, SelectionRecord
from trainer.config import BASELINE, GC, METHODS
from trainer.features import DECISION_THRESHOLD, SPLIT_NAMES
from trainer.training_record import TrainingRecord

REJECTED_ROWS_SHOWN = 200  # the rest stay in rejected.csv; a page of thousands of rows helps nobody
TIE = "tie"
# Names TFMA/Keras give to metrics where smaller is better; any other metric counts as higher-is-better.
LOWER_IS_BETTER_METRICS = frozenset({"loss", "binary_crossentropy", "mean_squared_error", "mean_absolute_error",
                                     "expected_calibration_error"})

ValueT = TypeVar("ValueT")


class ResultsError(Exception):
    """A run's results cannot be read (the selection or an evaluation is missing or unreadable)."""


@dataclasses.dataclass(frozen=True)
class RunArtifacts:
    """The artifacts a review reads: TFX artifacts, whoever found them (a component's inputs or ML Metadata)."""

    examples: types.Artifact  # ImageExampleGen's: ingestion summary and rejected.csv beside the examples
    blessing: types.Artifact  # ModelSelection's: selection.json
    evaluations: Dict[int, types.Artifact]  # by seed
    model_runs: Dict[Tuple[str, int], types.Artifact]  # by (method, seed): training records
    pushed_model: Optional[types.Artifact] = None  # the Pusher's; None before it ran
    statistics: Optional[types.Artifact] = None
    anomalies: Optional[types.Artifact] = None


class RunInfo(Record):
    """Where and when the run happened, as ML Metadata recorded it (known to `gc-tfx report`, not to a task)."""

    output: str
    metadata: str
    started_ms: int
    finished_ms: int
    node_states: Dict[str, str]  # node id -> COMPLETE, CACHED, ...


class RejectedFile(Record):
    path: str
    split: str
    reason: str


class MetricComparison(Record):
    """One test metric for both models. `better` is GC, BASELINE, TIE, or None when not comparable."""

    name: str
    gc: Number
    baseline: Number
    difference: Number  # GC minus baseline
    better: Optional[str]


class ModelResults(Record):
    """One model of the chosen seed's pair: its TFMA test metrics and plots, and its Trainer's record."""

    method: str
    seed: int
    test_metrics: Dict[str, Number]
    plots: Optional[tfma_results.ModelPlots] = pydantic.Field(default=None, exclude=True)  # charts only
    model_run_uri: Optional[str]  # training record and TensorBoard logs
    training: Optional[TrainingRecord]

    @pydantic.computed_field
    @property
    def confusion_at_threshold(self) -> Optional[tfma_results.ConfusionMatrix]:
        """The confusion counts at DECISION_THRESHOLD, as binary accuracy counts them; None without the plot."""
        counts = self.plots.threshold_counts if self.plots else None
        return counts.at(DECISION_THRESHOLD) if counts else None


class RunResults(Record):
    """The run, ready to review. `notes` maps a missing piece's name to why it is missing."""

    FILE_NAME = "summary.json"

    run: Optional[RunInfo]
    ingestion: IngestionSummary
    rejected_csv: str
    rejected_files_listed: List[RejectedFile]  # the first REJECTED_ROWS_SHOWN rows of rejected.csv
    selection: SelectionRecord  # the study (every seed, the verdict) and the choice
    pushed_destination: Optional[str]  # None when nothing was pushed
    models: Dict[str, ModelResults]  # by method: the pair of the chosen seed
    evaluator_check: Optional[tfma_results.EvaluatorCheck]
    statistics: Optional[List[data_statistics.SplitStatistics]]
    anomalies: Optional[Dict[str, Tuple[data_statistics.Anomaly, ...]]]
    notes: Dict[str, str]

    @property
    def models_seed(self) -> int:
        """The seed whose pair the per-model sections show: the chosen model's."""
        return self.selection.choice.seed

    @pydantic.computed_field
    @property
    def metric_comparison(self) -> List[MetricComparison]:
        """Both models' test metrics side by side, the primary metric first, then by name."""
        gc, baseline = self.models[GC].test_metrics, self.models[BASELINE].test_metrics
        primary = self.selection.study.metric
        names = sorted(set(gc) | set(baseline), key=lambda name: (name != primary, name))
        return [_compare(name, gc.get(name), baseline.get(name)) for name in names]

    @pydantic.computed_field
    @property
    def same_initial_weights(self) -> Optional[bool]:
        """Whether both Trainers started from identical weights (the fairness precondition); None if unknown."""
        records = self.training_records()
        if len(records) < 2:
            return None
        return records[GC].initial_weights_sha256 == records[BASELINE].initial_weights_sha256

    @pydantic.computed_field
    @property
    def gc_over_baseline_later_epoch_time(self) -> Optional[float]:
        """GC's mean later-epoch seconds over the baseline's (rough: one Trainer each, on a shared machine)."""
        records = self.training_records()
        if len(records) < 2 or not records[BASELINE].later_epoch_seconds_mean:
            return None
        gc_seconds = records[GC].later_epoch_seconds_mean
        return None if gc_seconds is None else gc_seconds / records[BASELINE].later_epoch_seconds_mean

    @pydantic.computed_field
    @property
    def tensorboard_command(self) -> Optional[str]:
        """The command that opens both Trainers' TensorBoard logs side by side; None without both records."""
        if len(self.training_records()) < 2:
            return None
        spec = ",".join(f"{method}:{self.models[method].model_run_uri}" for method in METHODS)
        return f"tensorboard --logdir_spec {shlex.quote(spec)}"

    def training_records(self) -> Dict[str, TrainingRecord]:
        return {method: model.training for method, model in self.models.items() if model.training is not None}


def training_piece(method: str) -> str:
    """The `notes` key saying why a model's training record is missing."""
    return f"training {method}"


def in_split_order(by_split: Dict[str, ValueT]) -> Dict[str, ValueT]:
    """train, eval, test first (the order data flows through the pipeline), then any other key as found."""
    order = {split: index for index, split in enumerate(SPLIT_NAMES)}
    return dict(sorted(by_split.items(), key=lambda item: order.get(item[0], len(order))))


def _compare(name: str, gc: Optional[float], baseline: Optional[float]) -> MetricComparison:
    comparable = name != "example_count" and gc is not None and baseline is not None
    difference = gc - baseline if gc is not None and baseline is not None else None
    better = None
    if comparable:
        if abs(gc - baseline) <= TOLERANCE:
            better = TIE
        else:
            better = GC if (gc > baseline) == (name not in LOWER_IS_BETTER_METRICS) else BASELINE
    return MetricComparison(name=name, gc=gc, baseline=baseline, difference=difference, better=better)


def _optional(notes: Dict[str, str], piece: str, load: Callable[[], ValueT]) -> Optional[ValueT]:
    """`load()`, or None with a note when its artifact is missing or unreadable."""
    try:
        return load()
    except (LookupError, OSError, ValueError) as error:  # no such artifact, no file, a malformed file
        logging.warning("Review: no %s: %s", piece, error)
        notes[piece] = str(error) or type(error).__name__
        return None


def _rejected_files(rejected_csv: str) -> List[RejectedFile]:
    """The first REJECTED_ROWS_SHOWN rows, read as a stream: a hostile folder can reject millions of files."""
    with open_text(rejected_csv) as stream:
        rows = itertools.islice(csv.DictReader(stream), REJECTED_ROWS_SHOWN)
        return [RejectedFile(path=row["path"], split=row["split"], reason=row["reason"]) for row in rows]


def _evaluator_check(evaluation_uri: str) -> tfma_results.EvaluatorCheck:
    check = tfma_results.load_evaluator_check(evaluation_uri)
    if check is None:
        raise LookupError(f"the Evaluator wrote no validation result in {evaluation_uri} (no thresholds configured)")
    return check


def _present(artifact: Optional[types.Artifact], producer: str) -> types.Artifact:
    if artifact is None:
        raise LookupError(f"{producer} step did not run")
    return artifact


def _pushed_destination(pushed_model: Optional[types.Artifact]) -> Optional[str]:
    """Where the Pusher copied the model, or None. Read with `get_custom_property`: ML Metadata holds `pushed` as an
    int, while on Kubeflow an input's properties arrive as JSON values (1.0)."""
    if pushed_model is None or pushed_model.get_custom_property("pushed") != 1:
        return None
    return pushed_model.get_custom_property("pushed_destination") or None


def _model_results(artifacts: RunArtifacts, seed: int, notes: Dict[str, str]) -> Dict[str, ModelResults]:
    evaluation_uri = artifacts.evaluations[seed].uri
    metrics_by_model = tfma_results.load_overall_metrics_by_model(evaluation_uri)
    plots_by_model = _optional(notes, "plots", lambda: tfma_results.load_plots_by_model(evaluation_uri)) or {}
    if not plots_by_model and "plots" not in notes:
        notes["plots"] = f"the Evaluator wrote no plots for the overall slice in {evaluation_uri}"
    results = {}
    for method in METHODS:
        model_run = artifacts.model_runs.get((method, seed))
        if model_run is None:
            notes[training_piece(method)] = f"no model_run artifact of the {method} Trainer of seed {seed}"
        training = None if model_run is None else _optional(
            notes, training_piece(method),
            lambda uri=model_run.uri: TrainingRecord.read_in(uri))
        results[method] = ModelResults(method=method, seed=seed,
                                       test_metrics=tfma_results.metrics_of_model(metrics_by_model, method),
                                       plots=plots_by_model.get(method),
                                       model_run_uri=None if model_run is None else model_run.uri,
                                       training=training)
    return results


def load_run_results(artifacts: RunArtifacts, run: Optional[RunInfo] = None) -> RunResults:
    """Reads the run's results; ResultsError when the comparison itself cannot be read."""
    notes: Dict[str, str] = {}
    rejected_csv = os.path.join(artifacts.examples.uri, REJECTED_CSV)
    try:
        selection = SelectionRecord.read_in(artifacts.blessing.uri)
        seed = selection.choice.seed
        if seed not in artifacts.evaluations:
            raise LookupError(f"no evaluation of seed {seed}, the chosen model's (evaluated: "
                              f"{sorted(artifacts.evaluations)})")
        models = _model_results(artifacts, seed, notes)
        ingestion = IngestionSummary.read_in(artifacts.examples.uri)
        rejected = _rejected_files(rejected_csv)
    except (LookupError, OSError, ValueError) as error:
        raise ResultsError(f"the run's results cannot be read: {error}") from error
    return RunResults(
        run=run,
        ingestion=ingestion,
        rejected_csv=rejected_csv,
        rejected_files_listed=rejected,
        selection=selection,
        pushed_destination=_pushed_destination(artifacts.pushed_model),
        models=models,
        evaluator_check=_optional(notes, "evaluator check",
                                  lambda: _evaluator_check(artifacts.evaluations[seed].uri)),
        statistics=_optional(notes, "statistics", lambda: data_statistics.load_split_statistics(
            _present(artifacts.statistics, "the StatisticsGen"))),
        anomalies=_optional(notes, "anomalies", lambda: data_statistics.load_anomalies(
            _present(artifacts.anomalies, "the ExampleValidator"))),
        notes=notes,
    )
