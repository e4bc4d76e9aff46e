"""summary.json: the report's numbers for machines, unrounded (metrics exactly as TFMA wrote them).

JSON has no NaN, so a NaN metric (e.g. precision of a model that never predicts the positive class) is null.
"""
import dataclasses
import math
from typing import Any, Dict

from components.model_selection.selection_record import SelectionRecord
from report import comparison, formatting
from report.report_data import ReportData


def _json_safe(value: Any) -> Any:
    """Replaces NaN and infinities, which JSON cannot hold, with None, at any depth."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def _model(data: ReportData, key: str, matrix) -> Dict[str, Any]:
    model = data.models[key]
    training = model.training
    return {
        "label": model.label,
        "test_metrics": model.test_metrics,
        f"confusion_matrix_at_{comparison.DECISION_THRESHOLD}": dataclasses.asdict(matrix) if matrix else None,
        "training": None if training is None else {
            "model_run_dir": model.model_run_uri,
            "optimizer": training.optimizer,
            "initial_weights_sha256": training.initial_weights_sha256,
            "config": dataclasses.asdict(training.settings.training),
            "history": training.history,
            "epoch_seconds": training.epoch_seconds,
            "first_epoch_seconds": training.first_epoch_seconds,
            "later_epoch_seconds_mean": training.later_epoch_seconds_mean,
        },
    }


def study_block(selection: SelectionRecord) -> Dict[str, Any]:
    """The verdict for scripts and CI: per-seed results, the interval, the test, the verdict and what was pushed."""
    study = selection.study
    return {
        "metric": study.metric,
        "seeds": [{"seed": seed.seed, "gc": seed.gc, "baseline": seed.baseline, "difference": seed.difference,
                   "mcnemar_p": seed.mcnemar_p, "gc_only_correct": seed.gc_only,
                   "baseline_only_correct": seed.baseline_only, "test_examples": seed.examples}
                  for seed in study.seeds],
        "mean_difference": study.mean_difference,
        "sd_difference": study.sd_difference,
        "interval_95": list(study.interval_95),
        "p_value": study.p_value,
        "test": study.test,
        "verdict": study.verdict,
        "wins": study.wins,
        "ties": study.ties,
        "losses": study.losses,
        "smallest_detectable_difference": study.smallest_detectable_difference,
        "smallest_possible_p": study.smallest_possible_p,
        "caveat": study.seed_caveat,
        "rule": selection.rule,
        "pushed": {"method": selection.choice.method, "seed": selection.choice.seed}
        if selection.should_push else None,
    }


def build_summary(data: ReportData) -> Dict[str, Any]:
    """The JSON document, with the same values the page shows."""
    choice = data.selection.choice
    matrices = comparison.confusion_at_decision_threshold(data)
    check = data.evaluator_check
    return _json_safe({
        "run": {
            "output": data.output_root,
            "metadata": data.metadata_path,
            "started": formatting.utc_time(data.started_ms),
            "finished": formatting.utc_time(data.finished_ms),
            "node_states": data.node_states,
        },
        "data": {
            "ingested": data.ingestion.ingested,
            "ingested_total": data.ingestion.ingested_total,
            "rejected": data.ingestion.rejected,
            "rejected_total": data.ingestion.rejected_total,
            "rejected_csv": data.rejected_csv,
            "rejected_files_listed": data.rejected_rows,
            "statistics": None if data.statistics is None else [
                dataclasses.asdict(split) for split in data.statistics],
            "anomalies": None if data.anomalies is None else {
                split: [dataclasses.asdict(anomaly) for anomaly in anomalies]
                for split, anomalies in data.anomalies.items()},
        },
        "study": study_block(data.selection),
        "models_seed": data.models_seed,
        "models": {key: _model(data, key, matrices[key]) for key in data.models},
        "test_metric_differences": {row.name: row.difference for row in comparison.metric_rows(data)},
        "better_by_metric": {row.name: row.better for row in comparison.metric_rows(data)},
        "selection": {
            "method": choice.method,
            "seed": choice.seed,
            "test_value": choice.test_value,
            "quality_floor": choice.quality_floor,
            "eval_scores": [dataclasses.asdict(candidate) for candidate in data.selection.candidates],
            "reason": choice.reason,
            # The newest version at the push destination before this run, scored on this run's test split.
            "serving": None if choice.serving is None else dataclasses.asdict(choice.serving),
            "forced": choice.forced,
            "pushed": data.pushed_destination is not None,
            "pushed_destination": data.pushed_destination,
        },
        "evaluator_check": None if check is None else {"passed": check.passed, "failures": list(check.failures)},
        "timing": {
            "gc_over_baseline_later_epoch_time": comparison.later_epoch_time_ratio(data),
            "caveat": comparison.TIMING_CAVEAT,
        },
        "same_initial_weights": comparison.same_initial_weights(data),
        "tensorboard_command": comparison.tensorboard_command(data),
        "notes": data.notes,
    })
