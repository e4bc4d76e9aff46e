"""Renders RunResults as one self-contained HTML page: a Jinja2 template (autoescaped) over a view-model of
formatted strings and inline charts. Inline CSS, charts as data URIs, no script, no network.

Text from the run (file names, reasons, paths) reaches the page only through the template's autoescaping, and the
Content-Security-Policy forbids any request the page might still contain, so a mistake shows as a blocked request
(and a console error in the browser test), not as a leak. The page has to work inside the KFP UI's sandboxed
iframe too, where nothing relative resolves.
"""
import functools
from typing import Any, Dict, List, Optional

import jinja2

from report import charts, formatting
from report.run_results import REJECTED_ROWS_SHOWN, TIE, RunResults, in_split_order, training_piece
from trainer.config import BASELINE, GC, METHODS
from trainer.features import DECISION_THRESHOLD

CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SECTIONS = (("verdict", "Verdict"), ("metrics", "Test metrics"), ("plots", "Evaluation plots"),
            ("training", "Training"), ("data", "Data"), ("tensorboard", "TensorBoard"))
BETTER_LABELS = {**formatting.METHOD_LABELS, TIE: "tie"}
OUTSIDE_SPLITS = "outside train/ and test/"
TIMING_CAVEAT = ("Rough, in-pipeline figure: GC/baseline ratio of the mean epoch time after the first epoch, each "
                 "Trainer timed once on a possibly busy machine, input pipeline included. The gc_overhead benchmark "
                 "(make bench) is the real measure.")


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("report", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _machine_value(value: Optional[float]) -> str:
    """A cell's exact value for scripts (`data-value`): Python's repr, "nan" for a missing number."""
    return "nan" if value is None else repr(value)


def _number_cell(text: str, value: Optional[float], **attributes: str) -> Dict[str, Any]:
    return {"text": text, "data": {**attributes, "value": _machine_value(value)}}


def _verdict(results: RunResults) -> Dict[str, Any]:
    selection = results.selection
    study, choice = selection.study, selection.choice
    words = formatting.VERDICT_WORDS[study.verdict]
    serving = choice.serving
    push_rows = [{"label": f"chosen: {formatting.METHOD_LABELS[choice.method]}, seed {choice.seed}",
                  "cell": _number_cell(formatting.metric(choice.test_value, study.metric), choice.test_value,
                                       **{"push-row": "chosen"})}]
    if serving is None:
        push_rows.append({"label": "serving before this run: none", "cell": None})
    else:
        push_rows.append({"label": f"serving before this run: version {serving.version} ({serving.path})",
                          "cell": _number_cell(formatting.metric(serving.test_value, study.metric),
                                               serving.test_value, **{"push-row": "serving"})})
    push_rows.append({"label": "quality floor", "cell": {"text": formatting.metric(choice.quality_floor,
                                                                                     study.metric), "data": {}}})
    seeds = [{"seed": seed.seed,
              "gc": _number_cell(formatting.metric(seed.gc, study.metric), seed.gc, model=GC, seed=str(seed.seed)),
              "baseline": _number_cell(formatting.metric(seed.baseline, study.metric), seed.baseline,
                                       model=BASELINE, seed=str(seed.seed)),
              "difference": formatting.difference(seed.difference, study.metric),
              "discordant": f"{seed.gc_only} / {seed.baseline_only}",
              "mcnemar_p": formatting.p_value(seed.mcnemar_p)} for seed in study.seeds]
    return {"code": study.verdict, "headline": words[:1].upper() + words[1:], "metric": study.metric,
            "sentences": " ".join(formatting.study_sentences(study)), "caveat": study.seed_caveat,
            "reason": choice.reason, "pushed_destination": results.pushed_destination, "forced": choice.forced,
            "push_rows": push_rows, "rule": selection.rule, "chart": charts.paired_seeds(study), "seeds": seeds}


def _metrics(results: RunResults) -> Dict[str, Any]:
    labels = dict(formatting.METRIC_ROWS)
    order = {name: index for index, (name, _) in enumerate(formatting.METRIC_ROWS)}
    rows = []
    for row in sorted(results.metric_comparison, key=lambda row: (order.get(row.name, len(order)), row.name)):
        rows.append({"label": labels.get(row.name, row.name), "primary": row.name == results.selection.study.metric,
                     "cells": [_number_cell(formatting.metric(value, row.name), value, model=method, metric=row.name)
                               for method, value in ((GC, row.gc), (BASELINE, row.baseline))],
                     "difference": formatting.difference(row.difference, row.name) if row.better else "",
                     "better": row.better if row.better in METHODS else "",
                     "better_label": BETTER_LABELS.get(row.better or "", "")})
    check = results.evaluator_check
    return {"seed": results.models_seed, "rows": rows,
            "check": None if check is None else ("passed" if check.passed
                                                 else "failed (" + "; ".join(check.failures) + ")"),
            "check_missing": results.notes.get("evaluator check")}


def _plots(results: RunResults) -> Dict[str, Any]:
    labels = formatting.METHOD_LABELS
    models = results.models
    matrices = {method: model.confusion_at_threshold for method, model in models.items()
                if model.confusion_at_threshold}
    counts = {method: model.plots.threshold_counts for method, model in models.items()
              if model.plots and model.plots.threshold_counts}
    bins = {method: model.plots.calibration for method, model in models.items()
            if model.plots and model.plots.calibration}
    def missing(present: Dict[str, Any]) -> List[str]:
        return [labels[method] for method in METHODS if method not in present]

    auc = {method: model.test_metrics.get("auc") for method, model in models.items()}
    return {"threshold": DECISION_THRESHOLD, "missing_all": results.notes.get("plots"),
            "confusion": charts.confusion_matrices(matrices, labels) if matrices else None,
            "confusion_missing": missing(matrices),
            "roc": charts.roc_and_precision_recall(counts, labels, auc) if counts else None,
            "roc_missing": missing(counts),
            "calibration": charts.calibration(bins, labels) if bins else None, "calibration_missing": missing(bins)}


def _training(results: RunResults) -> Dict[str, Any]:
    labels = formatting.METHOD_LABELS
    records = results.training_records()
    ratio = results.gc_over_baseline_later_epoch_time
    return {
        "missing": [f"No training record for {labels[method]}: {results.notes[training_piece(method)]}."
                    for method in METHODS if training_piece(method) in results.notes],
        "any": bool(records), "same_weights": results.same_initial_weights,
        "curves": charts.training_curves(records, labels) if records else None,
        "epoch_times": charts.epoch_times(records, labels) if records else None,
        "epochs": [{"label": labels[method], "optimizer": record.optimizer, "count": len(record.epoch_seconds),
                    "first": formatting.seconds(record.first_epoch_seconds),
                    "later": formatting.seconds(record.later_epoch_seconds_mean),
                    "weights": record.initial_weights_sha256[:12]} for method, record in records.items()],
        "overhead": formatting.ratio(ratio) if ratio is not None else "not available (it needs two or more epochs)",
        "caveat": TIMING_CAVEAT}


def _ingestion_rows(results: RunResults, class_names: List[str]) -> List[Dict[str, Any]]:
    ingested, rejected = in_split_order(results.ingestion.ingested), results.ingestion.rejected
    rows = [{"split": split, "counts": [formatting.count(by_class.get(name, 0)) for name in class_names],
             "ingested": formatting.count(sum(by_class.values())),
             "rejected": formatting.count(sum(rejected.get(split, {}).values())), "total": False}
            for split, by_class in ingested.items()]
    outside = sum(sum(by_class.values()) for split, by_class in rejected.items() if split not in ingested)
    if outside:  # e.g. DATA/README.txt: rejected without a split
        rows.append({"split": OUTSIDE_SPLITS, "counts": ["" for _ in class_names], "ingested": "",
                     "rejected": formatting.count(outside), "total": False})
    rows.append({"split": "all", "counts": [formatting.count(sum(by_class.get(name, 0)
                                                                 for by_class in ingested.values()))
                                            for name in class_names],
                 "ingested": formatting.count(results.ingestion.ingested_total),
                 "rejected": formatting.count(results.ingestion.rejected_total), "total": True})
    return rows


def _statistics(results: RunResults) -> Optional[Dict[str, Any]]:
    if results.statistics is None:
        return None
    class_names = sorted({name for split in results.statistics for name in (split.class_counts or {})})
    ingested = results.ingestion.ingested
    return {
        "class_names": class_names,
        "rows": [{"split": split.split, "examples": formatting.count(split.examples),
                  "classes": [formatting.count((split.class_counts or {}).get(name)) for name in class_names],
                  "mean_bytes": formatting.byte_size(split.mean_image_bytes),
                  "distinct": formatting.count(split.distinct_images),
                  "missing": ", ".join(f"{name}: {count}" for name, count in split.examples_missing.items())
                  or "none"} for split in results.statistics],
        "mismatched": [split.split for split in results.statistics
                       if split.split in ingested and split.examples != sum(ingested[split.split].values())],
        "duplicated": [split.split for split in results.statistics
                       if split.distinct_images is not None and split.distinct_images < split.examples]}


def _data(results: RunResults) -> Dict[str, Any]:
    ingestion = results.ingestion
    class_names = sorted({name for by_class in ingestion.ingested.values() for name in by_class})
    anomalies = results.anomalies
    return {
        "folder": ingestion.data_folder, "eval_percent": ingestion.eval_percent, "class_names": class_names,
        "rows": _ingestion_rows(results, class_names),
        "balance": charts.class_balance(in_split_order(ingestion.ingested)),
        "rejected_total": ingestion.rejected_total, "rejected_total_text": formatting.count(ingestion.rejected_total),
        "rejected": results.rejected_files_listed, "rejected_shown": REJECTED_ROWS_SHOWN,
        "rejected_csv": results.rejected_csv,
        "statistics": _statistics(results), "statistics_missing": results.notes.get("statistics"),
        "anomalies_missing": results.notes.get("anomalies"),
        "anomaly_splits": ", ".join(anomalies) if anomalies is not None else "",
        "anomalies": None if anomalies is None else [(split, anomaly) for split, found in anomalies.items()
                                                      for anomaly in found]}


def _header(results: RunResults) -> Optional[Dict[str, str]]:
    run = results.run
    if run is None:
        return None
    states = list(run.node_states.values())
    return {"output": run.output, "metadata": run.metadata, "finished": formatting.utc_time(run.finished_ms),
            "duration": formatting.seconds((run.finished_ms - run.started_ms) / 1000), "steps": str(len(states)),
            "states": ", ".join(f"{states.count(state)} {state.lower()}" for state in sorted(set(states)))}


def render(results: RunResults) -> str:
    """The whole page."""
    return _environment().get_template("report.html.j2").render(
        csp=CONTENT_SECURITY_POLICY, sections=SECTIONS, header=_header(results), verdict=_verdict(results), metrics=_metrics(results),
        plots=_plots(results), training=_training(results), data=_data(results),
        tensorboard=results.tensorboard_command)
