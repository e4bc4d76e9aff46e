"""The few lines `gc-tfx run` ends with: data counts, both models' test metrics, the winner, the push.

Everything comes from the run's records as ML Metadata finds them (report.run_artifacts), so the summary is the
same whether components ran now or were served from the cache.
"""
from typing import Optional

from components.image_example_gen.ingestion_report import IngestionSummary
from components.image_example_gen.layout import SPLIT_NAMES
from report import formatting
from report.run_artifacts import RunOutcome
from trainer.config import BASELINE, GC


def _data_line(ingestion: IngestionSummary, rejected_csv: str) -> str:
    ingested = ingestion.ingested
    splits = ", ".join(
        f"{split} {sum(ingested[split].values())} ({', '.join(f'{n} {name}' for name, n in ingested[split].items())})"
        for split in SPLIT_NAMES if split in ingested)
    rejected = ingestion.rejected_total
    rejected_note = f"; rejected {rejected}, listed in {rejected_csv}" if rejected else "; rejected 0"
    return f"Data: {splits}{rejected_note}"


def _difference(gc: Optional[float], baseline: Optional[float], metric: str) -> str:
    if metric == "example_count" or gc is None or baseline is None:
        return ""
    return formatting.difference(gc - baseline, metric)


def format_summary(outcome: RunOutcome) -> str:
    """A short table people read at the end of a run."""
    selection = outcome.selection
    gc_metrics, baseline_metrics = selection.metrics[GC], selection.metrics[BASELINE]
    lines = [_data_line(outcome.ingestion, outcome.rejected_csv), "",
             f"{'test split':<30}{'GC':>10}{'baseline':>12}{'GC - baseline':>16}"]
    for metric, label in formatting.METRIC_ROWS:
        gc, baseline = gc_metrics.get(metric), baseline_metrics.get(metric)
        lines.append(f"{label:<30}{formatting.metric(gc, metric):>10}{formatting.metric(baseline, metric):>12}"
                     f"{_difference(gc, baseline, metric):>16}")
    winner = formatting.METHOD_LABELS.get(selection.decision.winner or "", "none")
    lines += ["", f"Winner: {winner}. {selection.decision.reason}"]
    if outcome.pushed_destination:
        lines.append(f"Pushed to {outcome.pushed_destination}")
    else:
        lines.append("Nothing was pushed.")
    return "\n".join(lines)
