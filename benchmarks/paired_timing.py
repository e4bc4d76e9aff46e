"""Interleaved A/B timing: the only kind of comparison that holds on a machine shared with other people's jobs.

Each pair runs A and B back to back, alternating which goes first (AB, BA, AB, ...), so a slow spell caused by
someone else's job lands on both sides of a pair; the ratio is taken within each pair, then summarised by its
median and interquartile range.
"""
import dataclasses
import time
from typing import Callable, List

import numpy as np

# A change is clear when three quarters of its paired ratios lie at least 2% on the same side of 1.
CLEAR_MARGIN = 0.02


@dataclasses.dataclass(frozen=True)
class Spread:
    """Median and interquartile range of some samples."""

    median: float
    lower_quartile: float
    upper_quartile: float
    count: int

    @classmethod
    def of(cls, samples: List[float]) -> "Spread":
        if not samples:
            raise ValueError("Cannot summarise an empty list of samples.")
        lower, median, upper = np.percentile(np.asarray(samples, dtype=np.float64), [25, 50, 75])
        return cls(float(median), float(lower), float(upper), len(samples))

    def describe(self, what: str = "pairs", digits: int = 3) -> str:
        return (f"median of {self.count} {what}, IQR {self.lower_quartile:.{digits}f}-"
                f"{self.upper_quartile:.{digits}f}")


def speed_verdict(ratio: Spread, *, higher_is_faster: bool = False) -> str:
    """"faster", "slower" or "no clear difference" for a spread of paired ratios: of seconds (B / A, below 1 is
    faster) or, with `higher_is_faster`, of images/s."""
    faster_side, slower_side = ("faster", "slower") if higher_is_faster else ("slower", "faster")
    if ratio.lower_quartile > 1 + CLEAR_MARGIN:
        return faster_side
    if ratio.upper_quartile < 1 - CLEAR_MARGIN:
        return slower_side
    return "no clear difference"


@dataclasses.dataclass(frozen=True)
class PairedSeconds:
    """Seconds of A and B, one entry per pair, and the per-pair ratios B / A."""

    a_seconds: List[float]
    b_seconds: List[float]

    @property
    def ratios(self) -> List[float]:
        return [b / a for a, b in zip(self.a_seconds, self.b_seconds)]

    def ratio_spread(self) -> Spread:
        return Spread.of(self.ratios)


def seconds_of(work: Callable[[], object]) -> float:
    """Wall seconds of one call; `work` must block until its result exists (e.g. return NumPy values)."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def interleaved_pairs(a: Callable[[], object], b: Callable[[], object], *, pairs: int,
                      warmup_pairs: int = 1) -> PairedSeconds:
    """Times `pairs` A/B pairs after `warmup_pairs` untimed ones (tracing, caches, allocator growth)."""
    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}.")
    for _ in range(warmup_pairs):
        a()
        b()
    a_seconds, b_seconds = [], []
    for index in range(pairs):
        if index % 2 == 0:
            a_seconds.append(seconds_of(a))
            b_seconds.append(seconds_of(b))
        else:
            b_seconds.append(seconds_of(b))
            a_seconds.append(seconds_of(a))
    return PairedSeconds(a_seconds, b_seconds)
