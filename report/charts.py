"""The report's charts, drawn with matplotlib and returned as inline SVG data URIs (no files, no network).

`matplotlib.figure.Figure` is used without pyplot: no GUI backend is chosen and no global figure state is kept, so
charts can be drawn inside a running pipeline or a test. Every function takes only the models that have the data;
the page says which are missing.
"""
import base64
import io
from typing import Dict, Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure

from report import formatting, tfma_results
from results.paired_statistics import Study
from trainer import features
from trainer.config import BASELINE, GC
from trainer.training_record import TrainingRecord

COLORS = {GC: "#0072B2", BASELINE: "#D55E00"}  # blue and vermilion: distinct for colour-blind readers
MUTED = "#888888"
SVG_DATA_URI_PREFIX = "data:image/svg+xml;base64,"


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    figure.set_facecolor("white")
    return figure


def to_data_uri(figure: Figure) -> str:
    """The figure as a base64 SVG data URI; text becomes paths, so no font has to be present where it is viewed.

    No date and a fixed id salt: the same numbers draw the same bytes, so the review step's page and the local one
    are identical.
    """
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "gc-tfx"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return SVG_DATA_URI_PREFIX + base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(axes, title: str, x_label: str, y_label: str) -> None:
    axes.set_title(title, fontsize=11, loc="left")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def training_curves(records: Mapping[str, TrainingRecord], labels: Mapping[str, str]) -> str:
    """Loss and accuracy per epoch; solid lines for training, dashed for validation, both models on each axis."""
    figure = _figure(10, 3.8)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, metric, title in ((loss_axes, "loss", "Loss (binary cross-entropy)"),
                                (accuracy_axes, "accuracy", "Accuracy")):
        for key, record in records.items():
            for prefix, style, phase in (("", "-", "training"), ("val_", "--", "validation")):
                values = [float("nan") if value is None else value for value in record.history.get(prefix + metric, [])]
                if values:
                    epochs = range(1, len(values) + 1)
                    axes.plot(epochs, values, style, marker="o", markersize=4, color=COLORS[key],
                              label=f"{labels[key]}, {phase}")
        _style(axes, title, "epoch", metric)
        axes.xaxis.get_major_locator().set_params(integer=True)
    accuracy_axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    return to_data_uri(figure)


def epoch_times(records: Mapping[str, TrainingRecord], labels: Mapping[str, str]) -> str:
    """Seconds per epoch: the first epoch (tracing and compilation included) on its own axis, the others beside."""
    figure = _figure(10, 3.4)
    first_axes, later_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2.2]})
    keys = list(records)
    for index, key in enumerate(keys):
        first = records[key].first_epoch_seconds
        if first is not None:
            bar = first_axes.bar(index, first, color=COLORS[key], width=0.6)
            first_axes.bar_label(bar, labels=[formatting.seconds(first)], fontsize=9)
    first_axes.set_xticks(range(len(keys)), [labels[key] for key in keys])
    _style(first_axes, "First epoch (with compilation)", "", "seconds")
    later_epochs = max(len(record.epoch_seconds) - 1 for record in records.values())
    width = 0.8 / max(1, len(keys))
    for index, key in enumerate(keys):
        later = records[key].epoch_seconds[1:]
        if later:
            positions = [epoch + (index - (len(keys) - 1) / 2) * width for epoch in range(2, len(later) + 2)]
            later_axes.bar(positions, later, width=width, color=COLORS[key], label=labels[key])
            later_axes.axhline(records[key].later_epoch_seconds_mean, color=COLORS[key], linestyle=":",
                               linewidth=1.2)
    _style(later_axes, "Later epochs (dotted line: mean)", "epoch", "seconds")
    if later_epochs:
        later_axes.set_xticks(range(2, later_epochs + 2))
        later_axes.set_xlim(1.4, later_epochs + 1.6)
        later_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    else:
        later_axes.text(0.5, 0.5, "Only one epoch was trained.", ha="center", va="center",
                        transform=later_axes.transAxes, color=MUTED)
    return to_data_uri(figure)


def confusion_matrices(matrices: Mapping[str, tfma_results.ConfusionMatrix],
                       labels: Mapping[str, str]) -> str:
    """One 2×2 matrix per model at the decision threshold; rows are the true class, columns the predicted one."""
    negative, positive = features.CLASS_NAMES
    figure = _figure(4.6 * len(matrices), 3.9)
    axes_list = figure.subplots(1, len(matrices), squeeze=False)[0]
    largest = max(max(m.true_negatives, m.false_positives, m.false_negatives, m.true_positives)
                  for m in matrices.values())
    for axes, (key, matrix) in zip(axes_list, matrices.items()):
        cells = [[matrix.true_negatives, matrix.false_positives], [matrix.false_negatives, matrix.true_positives]]
        axes.imshow(cells, cmap="Blues", vmin=0, vmax=max(largest, 1))
        for row in range(2):
            row_total = sum(cells[row])
            for column in range(2):
                value = cells[row][column]
                share = f"\n{value / row_total:.0%} of row" if row_total else ""
                axes.text(column, row, f"{value:,.0f}{share}", ha="center", va="center", fontsize=11,
                          color="white" if value > 0.6 * largest else "black")
        axes.set_xticks([0, 1], [f"predicted {negative}", f"predicted {positive}"])
        axes.set_yticks([0, 1], [f"true {negative}", f"true {positive}"])
        correct = matrix.true_positives + matrix.true_negatives
        accuracy = formatting.metric(correct / matrix.total if matrix.total else None, "binary_accuracy")
        axes.set_title(f"{labels[key]}: accuracy {accuracy}", fontsize=11, color=COLORS[key])
    return to_data_uri(figure)


def roc_and_precision_recall(counts: Mapping[str, tfma_results.ThresholdCounts], labels: Mapping[str, str],
                             auc: Mapping[str, float]) -> str:
    """ROC and precision-recall curves of both models over all of TFMA's thresholds."""
    figure = _figure(10, 4.2)
    roc_axes, pr_axes = figure.subplots(1, 2)
    roc_axes.plot([0, 1], [0, 1], ":", color=MUTED, label="chance")
    for key, threshold_counts in counts.items():
        false_positive_rates, true_positive_rates = threshold_counts.roc_points()
        roc_axes.plot(false_positive_rates, true_positive_rates, color=COLORS[key], linewidth=2,
                      label=f"{labels[key]} (AUC {formatting.metric(auc.get(key), 'auc')})")
        recalls, precisions = threshold_counts.precision_recall_points()
        pr_axes.plot(recalls, precisions, color=COLORS[key], linewidth=2, marker=".", label=labels[key])
    any_counts = next(iter(counts.values()))
    lowest = any_counts.matrices[0]
    if lowest.total:  # at the lowest threshold every example is predicted positive: precision = positive share
        positive_share = (lowest.true_positives + lowest.false_negatives) / lowest.total
        pr_axes.axhline(positive_share, linestyle=":", color=MUTED, label="chance (positive share)")
    _style(roc_axes, "ROC curve (test split)", "false positive rate", "true positive rate")
    _style(pr_axes, f"Precision-recall ({features.POSITIVE_CLASS} = positive)", "recall", "precision")
    for axes in (roc_axes, pr_axes):
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(-0.02, 1.02)
        axes.legend(loc="lower right", frameon=False, fontsize=9)
    return to_data_uri(figure)


def calibration(bins: Mapping[str, Sequence[tfma_results.CalibrationBin]], labels: Mapping[str, str]) -> str:
    """Reliability diagram: mean predicted probability against the observed share of positives, per bin."""
    figure = _figure(6, 4.2)
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], ":", color=MUTED, label="perfectly calibrated")
    largest = max((calibration_bin.examples for model_bins in bins.values() for calibration_bin in model_bins),
                  default=1)
    for key, model_bins in bins.items():
        axes.plot([b.mean_prediction for b in model_bins], [b.positive_rate for b in model_bins], "-",
                  color=COLORS[key], alpha=0.6)
        axes.scatter([b.mean_prediction for b in model_bins], [b.positive_rate for b in model_bins],
                     s=[20 + 180 * b.examples / largest for b in model_bins], color=COLORS[key], label=labels[key])
    _style(axes, "Calibration (marker area ∝ examples in the bin)", f"mean predicted P({features.POSITIVE_CLASS})",
           f"observed share of {features.POSITIVE_CLASS}")
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.02)
    axes.legend(loc="upper left", frameon=False, fontsize=9)
    return to_data_uri(figure)


def class_balance(ingested: Mapping[str, Mapping[str, int]]) -> str:
    """Images per split, stacked by class: imbalance in a split shows at a glance."""
    splits = list(ingested)
    figure = _figure(7, 0.6 + 0.5 * len(splits))
    axes = figure.subplots()
    left: Dict[str, float] = {split: 0 for split in splits}
    palette = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7")
    class_names = sorted({name for by_class in ingested.values() for name in by_class})
    for index, class_name in enumerate(class_names):
        widths = [ingested[split].get(class_name, 0) for split in splits]
        bars = axes.barh(splits, widths, left=[left[split] for split in splits], color=palette[index % len(palette)],
                         label=class_name)
        axes.bar_label(bars, labels=[f"{width:,}" if width else "" for width in widths], label_type="center",
                       fontsize=9)
        for split, width in zip(splits, widths):
            left[split] += width
    axes.invert_yaxis()
    _style(axes, "Images per split and class", "images", "")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return to_data_uri(figure)


def paired_seeds(study: Study) -> str:
    """One line per seed from the baseline's value to GC's (up: GC better), and the mean difference's interval."""
    figure = _figure(9, 3.6)
    pairs_axes, interval_axes = figure.subplots(1, 2, width_ratios=(1.3, 1))
    for seed in study.seeds:
        colour = COLORS[GC] if seed.difference > 0 else COLORS[BASELINE] if seed.difference < 0 else MUTED
        pairs_axes.plot((0, 1), (seed.baseline, seed.gc), "-o", color=colour, markersize=4, linewidth=1.2)
        pairs_axes.annotate(f"seed {seed.seed}", (1, seed.gc), xytext=(6, 0), textcoords="offset points",
                            fontsize=8, va="center", color=MUTED)
    pairs_axes.set_xticks((0, 1), ("baseline (no GC)", "GC"))
    pairs_axes.set_xlim(-0.15, 1.35)
    _style(pairs_axes, "Each seed's pair on the test split", "", f"test {study.metric}")
    low, high = study.interval_95
    interval_axes.axvline(0.0, color=MUTED, linewidth=1, linestyle=":")
    interval_axes.errorbar([study.mean_difference], [0], xerr=[[study.mean_difference - low],
                                                                [high - study.mean_difference]],
                           fmt="o", color="black", capsize=6)
    interval_axes.scatter([seed.difference for seed in study.seeds], [0.25] * len(study.seeds), color=MUTED,
                          s=14, label="seeds")
    interval_axes.set_yticks([])
    interval_axes.set_ylim(-0.6, 0.8)
    _style(interval_axes, "Mean difference, 95% interval", f"GC − baseline ({study.metric})", "")
    interval_axes.legend(loc="upper left", frameon=False, fontsize=8)
    return to_data_uri(figure)
