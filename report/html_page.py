"""Renders ReportData as one self-contained HTML page: inline CSS, charts as data URIs, no script, no network.

Text from the run (file names, reasons, paths) only enters through html_elements, which escapes it; the
Content-Security-Policy forbids any request the page might still contain, so a mistake shows as a blocked request
(and a console error in the browser test), not as a leak.
"""
from typing import Iterable, List, Mapping

from report import charts, comparison, formatting
from report.html_data_section import data_section
from report.html_elements import CSS, cell, escape, figure, note, table
from report.report_data import MODEL_KEYS, ReportData, training_piece
from trainer.config import BASELINE, GC

CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SECTIONS = (("verdict", "Verdict"), ("metrics", "Test metrics"), ("plots", "Evaluation plots"),
            ("training", "Training"), ("data", "Data"), ("tensorboard", "TensorBoard"))
BETTER_LABELS = {**formatting.METHOD_LABELS, comparison.TIE: "tie"}


def _labels(data: ReportData) -> Mapping[str, str]:
    return {key: model.label for key, model in data.models.items()}


def _header(data: ReportData) -> str:
    duration = formatting.seconds((data.finished_ms - data.started_ms) / 1000)
    states = list(data.node_states.values())
    state_counts = ", ".join(f"{states.count(state)} {state.lower()}" for state in sorted(set(states)))
    navigation = "".join(f'<a href="#{anchor}">{escape(title)}</a>' for anchor, title in SECTIONS)
    return ("<h1>Gradient Centralization vs. baseline: evaluation report</h1>"
            f'<p class="meta">Latest run in {escape(data.output_root)}, finished '
            f"{escape(formatting.utc_time(data.finished_ms))} (UTC) after {escape(duration)}; "
            f"{len(states)} pipeline steps: {escape(state_counts)}.</p><nav>{navigation}</nav>")


def _seed_table(data: ReportData) -> str:
    study = data.selection.study
    rows = [[cell(f"seed {seed.seed}"),
             cell(formatting.metric(seed.gc, study.metric), numeric=True,
                  data_attributes={"model": GC, "seed": str(seed.seed), "value": repr(seed.gc)}),
             cell(formatting.metric(seed.baseline, study.metric), numeric=True,
                  data_attributes={"model": BASELINE, "seed": str(seed.seed), "value": repr(seed.baseline)}),
             cell(formatting.difference(seed.difference, study.metric), numeric=True),
             cell(f"{seed.gc_only} / {seed.baseline_only}", numeric=True),
             cell(formatting.p_value(seed.mcnemar_p), numeric=True)] for seed in study.seeds]
    return table([f"test {study.metric}", "GC", "baseline", "GC − baseline", "only GC / only baseline right",
                  "McNemar exact p"], rows, numeric=(1, 2, 3, 4, 5))


def _verdict_section(data: ReportData) -> str:
    selection = data.selection
    study, choice = selection.study, selection.choice
    verdict = formatting.VERDICT_WORDS[study.verdict]
    pushed = (f"The serving copy is {data.pushed_destination}." if data.pushed_destination
              else "Nothing was pushed.")
    css = "pushed" if data.pushed_destination else "not-pushed"
    parts = [
        '<h2 id="verdict">Verdict</h2>', f'<div class="verdict {css}">',
        f'<p class="headline" data-verdict="{escape(study.verdict)}">'
        f"{escape(verdict[:1].upper() + verdict[1:])}</p>",
        f"<p>Test {escape(study.metric)}, GC minus baseline. "
        f"{escape(' '.join(formatting.study_sentences(study)))}</p>"]
    if study.seed_caveat:
        parts.append(note(study.seed_caveat, warning=True))
    parts += [f"<p>{escape(choice.reason)} {escape(pushed)}</p>", _push_table(data),
              f"<p>The rule: {escape(selection.rule)}</p>", "</div>",
              figure(charts.paired_seeds(study),
                     "Left: one line per seed from the baseline to GC (trained from the same initial weights and "
                     "data order). Right: the seeds' differences and the interval of their mean."),
              _seed_table(data)]
    return "".join(parts)


def _push_table(data: ReportData) -> str:
    """The chosen model beside what it had to beat: the model serving before this run and the floor."""
    choice, metric = data.selection.choice, data.selection.study.metric
    chosen = f"chosen: {formatting.METHOD_LABELS[choice.method]}, seed {choice.seed}"
    rows = [[cell(chosen), cell(formatting.metric(choice.test_value, metric), numeric=True,
                                data_attributes={"push-row": "chosen", "value": repr(choice.test_value)})]]
    serving = choice.serving
    if serving is None:
        rows.append([cell("serving before this run: none"), cell("", numeric=True)])
    else:
        rows.append([cell(f"serving before this run: version {serving.version} ({serving.path})"),
                     cell(formatting.metric(serving.test_value, metric), numeric=True,
                          data_attributes={"push-row": "serving", "value": repr(serving.test_value)})])
    rows.append([cell("quality floor"), cell(formatting.metric(choice.quality_floor, metric), numeric=True)])
    forced = " (pushed with --force-push)" if choice.forced else ""
    return table([f"push decision{forced}", f"test {metric} on this run's test split"], rows, numeric=(1,))


def _metrics_table(data: ReportData) -> str:
    rows, row_classes = [], []
    for row in comparison.metric_rows(data):
        cells = [cell(row.label)]
        for key, value in ((GC, row.gc), (BASELINE, row.baseline)):
            cells.append(cell(formatting.metric(value, row.name), numeric=True,
                              data_attributes={"model": key, "metric": row.name, "value": repr(value)}))
        difference = formatting.difference(row.difference, row.name) if row.better is not None else ""
        cells.append(cell(difference, numeric=True))
        cells.append(cell(BETTER_LABELS.get(row.better or "", ""),
                          css_class=f"better-{row.better}" if row.better in MODEL_KEYS else ""))
        rows.append(cells)
        row_classes.append("primary" if row.name == data.selection.study.metric else "")
    return table(["test split", "GC", "baseline", "GC − baseline", "better"], rows, numeric=(1, 2, 3),
                 row_classes=row_classes)


def _metrics_section(data: ReportData) -> str:
    parts = ['<h2 id="metrics">Test metrics</h2>',
             f"<p>The pair of seed {data.models_seed} (the chosen model's) on the held-out test split, as its "
             "Evaluator (TFMA) computed them; the bold row is the metric the verdict compares. This section and "
             "those below show that pair; the verdict above is over every seed.</p>", _metrics_table(data)]
    check = data.evaluator_check
    if check is None:
        parts.append(note("The Evaluator's own threshold check is not available: "
                          f"{data.notes.get('evaluator check')}."))
    else:
        outcome = "passed" if check.passed else "failed (" + "; ".join(check.failures) + ")"
        parts.append(f"<p>The Evaluator's own threshold check of the GC model (no regression against the "
                     f"baseline) {escape(outcome)}. It speaks for GC of this seed only; the verdict and the rule above "
                     f"decide which model is pushed.</p>")
    return "".join(parts)


def _missing(data: ReportData, present: Iterable[str]) -> List[str]:
    """Labels of the models absent from `present`."""
    present = set(present)
    return [data.models[key].label for key in MODEL_KEYS if key not in present]


def _plots_section(data: ReportData) -> str:
    labels = _labels(data)
    threshold = comparison.DECISION_THRESHOLD
    matrices = {key: matrix for key, matrix in comparison.confusion_at_decision_threshold(data).items() if matrix}
    counts = {key: model.plots.threshold_counts for key, model in data.models.items()
              if model.plots and model.plots.threshold_counts}
    bins = {key: model.plots.calibration for key, model in data.models.items()
            if model.plots and model.plots.calibration}
    parts = ['<h2 id="plots">Evaluation plots</h2>']
    if "plots" in data.notes:
        parts.append(note(f"No evaluation plots: {data.notes['plots']}.", warning=True))

    parts.append(f"<h3>Confusion matrices at threshold {threshold}</h3>")
    if matrices:
        parts.append(figure(charts.confusion_matrices(matrices, labels),
                            f"Test split, from TFMA's ConfusionMatrixPlot: a prediction above {threshold} counts "
                            f"as the positive class, as in binary accuracy."))
    parts += [note(f"No confusion matrix for {label}: its ConfusionMatrixPlot has no threshold {threshold}.")
              for label in _missing(data, matrices)]

    parts.append("<h3>ROC and precision-recall curves</h3>")
    if counts:
        auc = {key: model.test_metrics.get("auc") for key, model in data.models.items()}
        parts.append(figure(charts.roc_and_precision_recall(counts, labels, auc),
                            "Test split, over all of TFMA's ConfusionMatrixPlot thresholds."))
    parts += [note(f"No ROC or precision-recall curve for {label}: its ConfusionMatrixPlot is missing.")
              for label in _missing(data, counts)]

    parts.append("<h3>Calibration</h3>")
    if bins:
        parts.append(figure(charts.calibration(bins, labels),
                            "Test split, from TFMA's CalibrationPlot merged into ten bins: on the dotted line, "
                            "predicted probabilities match observed frequencies."))
    parts += [note(f"No calibration plot for {label}: its CalibrationPlot is missing.")
              for label in _missing(data, bins)]
    return "".join(parts)


def _epoch_table(data: ReportData) -> str:
    rows = []
    for key in MODEL_KEYS:
        record = data.models[key].training
        if record is not None:
            rows.append([cell(data.models[key].label), cell(record.optimizer),
                         cell(len(record.epoch_seconds), numeric=True),
                         cell(formatting.seconds(record.first_epoch_seconds), numeric=True),
                         cell(formatting.seconds(record.later_epoch_seconds_mean), numeric=True),
                         cell(record.initial_weights_sha256[:12], css_class="path")])
    return table(["model", "optimizer", "epochs", "first epoch", "later epochs, mean", "initial weights (sha256)"],
                 rows, numeric=(2, 3, 4))


def _training_section(data: ReportData) -> str:
    labels = _labels(data)
    records = {key: model.training for key, model in data.models.items() if model.training}
    parts = ['<h2 id="training">Training</h2>']
    for key in MODEL_KEYS:
        if training_piece(key) in data.notes:
            parts.append(note(f"No training record for {labels[key]}: {data.notes[training_piece(key)]}.",
                              warning=True))
    if not records:
        return "".join(parts)
    same_weights = comparison.same_initial_weights(data)
    if same_weights is False:
        parts.append(note("The two models started from different initial weights, so the comparison is not fair: "
                          "check that both Trainers got the same seed.", warning=True))
    elif same_weights:
        parts.append("<p>Both models started from the same initial weights (same sha256 below) and saw the data in "
                     "the same order; only Gradient Centralization differs.</p>")
    parts.append(figure(charts.training_curves(records, labels),
                        "Loss and accuracy per epoch on the training split (solid) and the eval split (dashed)."))
    parts += ["<h3>Time per epoch</h3>", _epoch_table(data),
              figure(charts.epoch_times(records, labels),
                     "Seconds per epoch. The first epoch also traces and compiles the training step, so it is shown "
                     "apart; the Trainer that ran first may also pay one-off start-up costs in it.")]
    ratio = comparison.later_epoch_time_ratio(data)
    ratio_text = formatting.ratio(ratio) if ratio is not None else "not available (it needs two or more epochs)"
    parts.append(f"<p><strong>GC time overhead: {escape(ratio_text)}</strong>. "
                 f"{escape(comparison.TIMING_CAVEAT)}</p>")
    return "".join(parts)


def _tensorboard_section(data: ReportData) -> str:
    command = comparison.tensorboard_command(data)
    parts = ['<h2 id="tensorboard">TensorBoard</h2>']
    if command is None:
        return "".join(parts) + note("Without both training records the TensorBoard log folders are unknown.")
    return "".join(parts) + (
        "<p>Both Trainers wrote TensorBoard logs (per-epoch scalars, the graph) beside their training record. To "
        "browse them side by side, run this in the project folder with its virtualenv active, then open the "
        "address it prints (port 6006 by default):</p>"
        f"<pre><code>{escape(command)}</code></pre>")


def render(data: ReportData) -> str:
    """The whole page."""
    body = "".join([
        _header(data), _verdict_section(data), _metrics_section(data), _plots_section(data),
        _training_section(data), data_section(data), _tensorboard_section(data),
        f"<footer>Written by <code>gc-tfx report</code> from {escape(data.metadata_path)} (ML Metadata) and the "
        "artifacts it records. The same numbers, unrounded, are in summary.json beside this page.</footer>",
    ])
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>gc-tfx report: GC vs. baseline</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
