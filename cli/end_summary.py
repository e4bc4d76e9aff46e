"""The lines `gc-tfx run` ends with: data counts, each seed's pair on the test split, the verdict, the push.

Everything comes from the run's results (report.run_results), the value the report and summary.json are made of,
so the console says what they say, whether components ran now or were served from the cache.
"""
from typing import List

from report import formatting
from report.run_results import RunResults
from results.ingestion import IngestionSummary
from results.selection import SelectionRecord
from trainer.features import SPLIT_NAMES


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


def format_summary(results: RunResults) -> str:
    """A short table people read at the end of a run."""
    selection = results.selection
    lines = [_data_line(results.ingestion, results.rejected_csv), "", *study_lines(selection), "",
             selection.choice.reason]
    if results.pushed_destination:
        lines.append(f"Pushed to {results.pushed_destination}")
    else:
        lines.append("Nothing was pushed.")
    return "\n".join(lines)
