"""The lines `gc-tfx run` ends with: data counts, each seed's pair on the test split, the verdict, the push.

Everything comes from the run's records as ML Metadata finds them (report.run_artifacts), so the summary is the
same whether components ran now or were served from the cache.
"""
from typing import List

from components.image_example_gen.ingestion_report import IngestionSummary
from components.image_example_gen.layout import SPLIT_NAMES
from components.model_selection.selection_record import SelectionRecord
from report import formatting
from report.run_artifacts import RunOutcome


def _data_line(ingestion: IngestionSummary, rejected_csv: str) -> str:
    ingested = ingestion.ingested
    splits = ", ".join(
        f"{split} {sum(ingested[split].values())} ({', '.join(f'{n} {name}' for name, n in ingested[split].items())})"
        for split in SPLIT_NAMES if split in ingested)
    rejected = ingestion.rejected_total
    rejected_note = f"; rejected {rejected}, listed in {rejected_csv}" if rejected else "; rejected 0"
    return f"Data: {splits}{rejected_note}"


def study_lines(selection: SelectionRecord) -> List[str]:
    """One row per seed (GC, baseline, difference, McNemar p), the interval, the test and the verdict in words."""
    study = selection.study
    lines = [f"{'test ' + study.metric + ' by seed':<30}{'GC':>10}{'baseline':>12}{'GC - baseline':>16}"
             f"{'McNemar p':>12}"]
    for seed in study.seeds:
        lines.append(f"{'seed ' + str(seed.seed):<30}{formatting.metric(seed.gc, study.metric):>10}"
                     f"{formatting.metric(seed.baseline, study.metric):>12}"
                     f"{formatting.difference(seed.difference, study.metric):>16}"
                     f"{formatting.p_value(seed.mcnemar_p):>12}")
    lines += ["", *formatting.study_sentences(study)]
    if study.seed_caveat:
        lines.append(study.seed_caveat)
    lines.append(f"Verdict: {formatting.VERDICT_WORDS[study.verdict]}.")
    return lines


def format_summary(outcome: RunOutcome) -> str:
    """A short table people read at the end of a run."""
    selection = outcome.selection
    lines = [_data_line(outcome.ingestion, outcome.rejected_csv), "", *study_lines(selection), "",
             selection.choice.reason]
    if outcome.pushed_destination:
        lines.append(f"Pushed to {outcome.pushed_destination}")
    else:
        lines.append("Nothing was pushed.")
    return "\n".join(lines)
