"""The verdict's statistics (DESIGN.md, "Statistics protocol"): per seed, then across seeds. Pure NumPy/SciPy.

One seed is one pair of models (GC, baseline) trained from the same initial weights and data order, so seeds are
the unit of evidence and the across-seed interval is what decides. Per seed there is also McNemar's exact test on
the two models' paired test predictions: it says whether the two trained models differ on this test set, which is
not evidence about the method (a second seed can reverse it). With a single seed that test-set interval is all
there is, and `Study.seed_caveat` says so.
"""
import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

GC_BETTER = "gc_better"
GC_WORSE = "gc_worse"
NO_DETECTABLE_DIFFERENCE = "no_detectable_difference"
VERDICTS = (GC_BETTER, GC_WORSE, NO_DETECTABLE_DIFFERENCE)

CONFIDENCE = 0.95
POWER = 0.80  # for the smallest difference a run could have detected
SEEDS_TEST = "paired t interval over seeds; exact sign-flip permutation test of the mean difference"
ONE_SEED_TEST = ("exact conditional interval over the test examples (Clopper-Pearson on the discordant pairs); "
                 "McNemar's exact test")


@dataclasses.dataclass(frozen=True)
class PairedPredictions:
    """One seed's test-set evidence: per example, whether each model was right."""

    gc_correct: np.ndarray  # bool (n,)
    baseline_correct: np.ndarray  # bool (n,)

    def __post_init__(self) -> None:
        if self.gc_correct.shape != self.baseline_correct.shape or self.gc_correct.ndim != 1:
            raise ValueError(f"Paired predictions need two equal 1-D arrays, got shapes {self.gc_correct.shape} and "
                             f"{self.baseline_correct.shape}")
        if not self.gc_correct.size:
            raise ValueError("Paired predictions need at least one test example")

    @property
    def examples(self) -> int:
        return int(self.gc_correct.size)

    @property
    def gc_only(self) -> int:
        """Examples GC got right and the baseline wrong."""
        return int(np.sum(self.gc_correct & ~self.baseline_correct))

    @property
    def baseline_only(self) -> int:
        return int(np.sum(~self.gc_correct & self.baseline_correct))


def mcnemar_exact_p(gc_only: int, baseline_only: int) -> float:
    """Two-sided exact McNemar p: the discordant pairs against Binomial(gc_only + baseline_only, 1/2)."""
    discordant = gc_only + baseline_only
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(gc_only, discordant, 0.5).pvalue)


def test_set_interval(pairs: PairedPredictions, confidence: float = CONFIDENCE) -> Tuple[float, float]:
    """Interval for Δ = accuracy(GC) − accuracy(baseline) on one test set, exact given the discordant count.

    Δ = (b − c) / n with b + c = m discordant pairs; given m, b ~ Binomial(m, π) and Δ = (2π − 1)·m / n, so the
    Clopper-Pearson interval of π maps onto Δ. It is the interval McNemar's exact test inverts.
    """
    discordant = pairs.gc_only + pairs.baseline_only
    if discordant == 0:
        return 0.0, 0.0
    low, high = stats.binomtest(pairs.gc_only, discordant).proportion_ci(confidence, method="exact")
    scale = discordant / pairs.examples
    return (2.0 * low - 1.0) * scale, (2.0 * high - 1.0) * scale


def paired_t_interval(differences: Sequence[float], confidence: float = CONFIDENCE) -> Tuple[float, float]:
    """Student-t interval of the mean of per-seed differences (needs two or more; zero spread gives a point)."""
    values = np.asarray(differences, dtype=float)
    if values.size < 2:
        raise ValueError(f"A t interval needs at least two seeds, got {values.size}")
    mean, standard_error = float(values.mean()), float(stats.sem(values))
    if standard_error == 0.0:
        return mean, mean
    return tuple(float(bound) for bound in
                 stats.t.interval(confidence, values.size - 1, loc=mean, scale=standard_error))


def sign_flip_p(differences: Sequence[float]) -> float:
    """Exact two-sided p of the mean difference under random sign flips (all 2^N of them)."""
    values = np.asarray(differences, dtype=float)
    if not np.any(values):
        return 1.0
    result = stats.permutation_test((values,), np.mean, permutation_type="samples", n_resamples=np.inf,
                                    alternative="two-sided")
    return float(min(1.0, result.pvalue))


def smallest_exact_p(seed_count: int) -> float:
    """The smallest two-sided p an exact sign-flip test over `seed_count` seeds can give: 2 / 2^N."""
    return min(1.0, 2.0 / 2.0 ** seed_count)


def verdict_of(interval: Tuple[float, float]) -> str:
    low, high = interval
    if low > 0:
        return GC_BETTER
    if high < 0:
        return GC_WORSE
    return NO_DETECTABLE_DIFFERENCE


@dataclasses.dataclass(frozen=True)
class SeedResult:
    """One pair's numbers: the primary metric of both models on the test split, and the paired test."""

    seed: int
    gc: float
    baseline: float
    gc_only: int  # test examples only GC got right
    baseline_only: int
    examples: int
    mcnemar_p: float

    @property
    def difference(self) -> float:
        return self.gc - self.baseline


def seed_result(seed: int, gc: float, baseline: float, pairs: PairedPredictions) -> SeedResult:
    return SeedResult(seed=seed, gc=gc, baseline=baseline, gc_only=pairs.gc_only,
                      baseline_only=pairs.baseline_only, examples=pairs.examples,
                      mcnemar_p=mcnemar_exact_p(pairs.gc_only, pairs.baseline_only))


@dataclasses.dataclass(frozen=True)
class Study:
    """Every seed's result and the one verdict they support."""

    metric: str
    seeds: List[SeedResult]
    mean_difference: float
    sd_difference: Optional[float]  # None with one seed
    interval_95: Tuple[float, float]
    p_value: float
    test: str
    verdict: str
    wins: int
    ties: int
    losses: int
    # At CONFIDENCE and POWER from the observed spread, and never below one test example (1/n): accuracy on n
    # examples cannot resolve less, and zero spread (every seed tied) must not read as "detects anything".
    smallest_detectable_difference: float
    smallest_possible_p: Optional[float]  # of the exact test over seeds; None with one seed

    @property
    def seed_caveat(self) -> Optional[str]:
        """What a reader must know before trusting the interval, or None."""
        if len(self.seeds) == 1:
            return ("One seed: this interval covers only test-set noise; training the pair again with another "
                    "seed typically moves the difference more than that. Use --seeds 8 for a verdict about GC.")
        if self.smallest_possible_p is not None and self.smallest_possible_p > 1.0 - CONFIDENCE:
            return (f"With {len(self.seeds)} seeds the exact test cannot reach p < {1.0 - CONFIDENCE:.2f} "
                    f"(its smallest p is {self.smallest_possible_p:.4g}); use 6 or more.")
        return None


def summarize(metric: str, seeds: Sequence[SeedResult], pairs: Sequence[PairedPredictions],
              confidence: float = CONFIDENCE, power: float = POWER) -> Study:
    """The across-seed statistics of DESIGN.md; with one seed, the test-set interval and McNemar's test decide."""
    if not seeds or len(seeds) != len(pairs):
        raise ValueError(f"Need one paired prediction set per seed, got {len(seeds)} seeds and {len(pairs)} sets")
    differences = np.array([seed.difference for seed in seeds])
    if len(seeds) == 1:
        only = pairs[0]
        interval = test_set_interval(only, confidence)
        per_example = only.gc_correct.astype(float) - only.baseline_correct.astype(float)
        spread = float(np.std(per_example, ddof=1)) / math.sqrt(only.examples) if only.examples > 1 else 0.0
        detectable = (stats.norm.ppf(1 - (1 - confidence) / 2) + stats.norm.ppf(power)) * spread
        return Study(metric=metric, seeds=list(seeds), mean_difference=float(differences[0]), sd_difference=None,
                     interval_95=interval, p_value=seeds[0].mcnemar_p, test=ONE_SEED_TEST,
                     verdict=verdict_of(interval), **_tally(differences),
                     smallest_detectable_difference=max(float(detectable), 1.0 / only.examples),
                     smallest_possible_p=None)
    interval = paired_t_interval(differences, confidence)
    degrees = len(seeds) - 1
    standard_error = float(stats.sem(differences))
    detectable = (stats.t.ppf(1 - (1 - confidence) / 2, degrees) + stats.t.ppf(power, degrees)) * standard_error
    return Study(metric=metric, seeds=list(seeds), mean_difference=float(differences.mean()),
                 sd_difference=float(np.std(differences, ddof=1)), interval_95=interval,
                 p_value=sign_flip_p(differences), test=SEEDS_TEST, verdict=verdict_of(interval),
                 **_tally(differences),
                 smallest_detectable_difference=max(float(detectable), 1.0 / min(seed.examples for seed in seeds)),
                 smallest_possible_p=smallest_exact_p(len(seeds)))


def _tally(differences: np.ndarray, tolerance: float = 1e-9) -> dict:
    return {"wins": int(np.sum(differences > tolerance)), "ties": int(np.sum(np.abs(differences) <= tolerance)),
            "losses": int(np.sum(differences < -tolerance))}
