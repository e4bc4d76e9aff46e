"""Numbers formatted for people, the same way in tables, charts and notes."""
import datetime
import math
from typing import List, Optional

from results.paired_statistics import GC_BETTER, GC_WORSE, NO_DETECTABLE_DIFFERENCE, Study
from trainer.config import BASELINE, GC

MISSING = "n/a"
# How people read the two methods, in the report and on the console.
METHOD_LABELS = {GC: "GC", BASELINE: "baseline (no GC)"}

# The verdict in words: never more than the interval and p show.
VERDICT_WORDS = {
    GC_BETTER: "GC trains this model better: the 95% interval of the difference lies above 0 and p < 0.05",
    GC_WORSE: "GC trains this model worse: the 95% interval of the difference lies below 0 and p < 0.05",
    NO_DETECTABLE_DIFFERENCE: "no detectable difference between GC and the baseline: the 95% interval includes 0 "
                              "or p is not below 0.05",
}

# (TFMA metric name, label for people), in the order the report's table and the console summary show them.
METRIC_ROWS = (
    ("binary_accuracy", "binary accuracy"),
    ("auc", "AUC"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("binary_crossentropy", "loss (binary cross-entropy)"),
    ("example_count", "test images"),
)


def is_number(value: Optional[float]) -> bool:
    return value is not None and not math.isnan(value)


def metric(value: Optional[float], name: str) -> str:
    """Four decimals (the run summary's precision); counts as integers."""
    if not is_number(value):
        return MISSING
    if name == "example_count":
        return f"{value:,.0f}"
    return f"{value:.4f}"


def difference(value: Optional[float], name: str) -> str:
    """A signed difference, so the direction is visible at a glance."""
    if not is_number(value):
        return MISSING
    if name == "example_count":
        return f"{value:+,.0f}"
    return f"{value:+.4f}"


def interval(bounds) -> str:
    """A signed interval of a difference: "[-0.0117, +0.0273]"."""
    low, high = bounds
    return f"[{difference(low, '')}, {difference(high, '')}]"


def p_value(value: Optional[float]) -> str:
    if not is_number(value):
        return MISSING
    return f"{value:.3g}" if value >= 0.001 else "< 0.001"


def study_sentences(study: Study) -> List[str]:
    """The across-seed numbers in words, the same on the console and in the report: the mean difference with its
    interval and test, then the tally and the smallest detectable difference."""
    spread = "" if study.sd_difference is None else f", sd {study.sd_difference:.4f}"
    sentences = [f"Mean difference {difference(study.mean_difference, study.metric)}{spread}, 95% interval "
                 f"{interval(study.interval_95)}, p = {p_value(study.p_value)} ({study.test})."]
    if study.robustness_test:
        sentences.append(f"Beside it, not deciding ({study.robustness_test}): p = {p_value(study.robustness_p)}.")
    return sentences + [
        f"GC wins {study.wins}, ties {study.ties}, loses {study.losses} of {len(study.seeds)} seed(s); the smallest "
        f"difference this run could detect (80% power) is about {study.smallest_detectable_difference:.4f}."]


def seconds(value: Optional[float]) -> str:
    if not is_number(value):
        return MISSING
    if value >= 100:
        return f"{value:,.0f} s"
    if value >= 1:
        return f"{value:.1f} s"
    return f"{value * 1000:.0f} ms"


def ratio(value: Optional[float]) -> str:
    """1.0734 -> "1.07× (+7.3 %)"."""
    if not is_number(value):
        return MISSING
    return f"{value:.2f}× ({(value - 1) * 100:+.1f} %)"


def byte_size(value: Optional[float]) -> str:
    if not is_number(value):
        return MISSING
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def count(value: Optional[float]) -> str:
    return f"{value:,.0f}" if is_number(value) else MISSING


def utc_time(milliseconds: int) -> str:
    """UTC to the second, ISO 8601: the same instant for every reader, wherever they are."""
    return datetime.datetime.fromtimestamp(milliseconds / 1000, tz=datetime.timezone.utc).isoformat(
        timespec="seconds")
