"""The verdict's statistics (docs/architecture.md, "The statistics protocol"): per seed, then across seeds.

One seed is one pair of models (GC, baseline) trained from the same initial weights and data order, so seeds are
the unit of evidence. Across two or more seeds the interval and the p-value both come from one paired t test of the
per-seed differences; an exact sign-flip test is reported beside them, labelled as a robustness check, and never
decides. Per seed there is McNemar's exact test on the two models' paired test predictions: it says whether the two
trained models differ on this test set, not whether GC is better (a second seed can reverse it). With a single
seed that exact test is all there is, interval (Clopper-Pearson, which inverts it) and p alike, and
`Study.seed_caveat` says so. A direction is stated only when the interval excludes 0 and p < 0.05, so the verdict
never contradicts a number printed beside it.
"""
import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pydantic
from scipy import stats

from results.records import Number, Record

GC_BETTER = "gc_better"
GC_WORSE = "gc_worse"
NO_DETECTABLE_DIFFERENCE = "no_detectable_difference"
VERDICTS = (GC_BETTER, GC_WORSE, NO_DETECTABLE_DIFFERENCE)

CONFIDENCE = 0.95
SIGNIFICANCE = 1.0 - CONFIDENCE  # a direction needs p below it
POWER = 0.80  # for the smallest difference a run could have detected
SEEDS_TEST = "paired t test over seeds"  # the interval and p both come from it
ONE_SEED_TEST = ("exact McNemar test over the test examples, with the Clopper-Pearson interval on the discordant "
                 "pairs that inverts it")
ROBUSTNESS_TEST = "robustness check: exact sign-flip permutation test of the mean difference"


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
    """Two-sided exact McNemar p: twice the smaller tail of Binomial(gc_only + baseline_only, 1/2) (at 1/2 the
    distribution is symmetric, so this equals the likelihood-ordered p, and Clopper-Pearson inverts exactly it)."""
    discordant = gc_only + baseline_only
    if discordant == 0:
        return 1.0
    smaller_tail = min(stats.binom.cdf(gc_only, discordant, 0.5), stats.binom.sf(gc_only - 1, discordant, 0.5))
    return float(min(1.0, 2.0 * smaller_tail))


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


def paired_t_test(differences: Sequence[float],
                  confidence: float = CONFIDENCE) -> Tuple[Tuple[float, float], Optional[float]]:
    """The one-sample t test of the per-seed differences against 0: its interval and its two-sided p.

    Needs two or more seeds. With zero spread the t statistic is undefined: the interval is the point and p None.
    """
    values = np.asarray(differences, dtype=float)
    if values.size < 2:
        raise ValueError(f"A t test needs at least two seeds, got {values.size}")
    if np.ptp(values) == 0.0:
        return (float(values[0]), float(values[0])), (1.0 if values[0] == 0.0 else None)
    result = stats.ttest_1samp(values, 0.0)
    interval = result.confidence_interval(confidence)
    return (float(interval.low), float(interval.high)), float(result.pvalue)


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


def verdict_of(interval: Tuple[float, float], p_value: Optional[float]) -> str:
    """A direction only when the interval excludes 0 and p < SIGNIFICANCE (both from the same test)."""
    low, high = interval
    significant = p_value is not None and p_value < SIGNIFICANCE
    if significant and low > 0:
        return GC_BETTER
    if significant and high < 0:
        return GC_WORSE
    return NO_DETECTABLE_DIFFERENCE


class SeedResult(Record):
    """One pair's numbers: the primary metric of both models on the test split (TFMA's), and the paired test."""

    seed: int
    gc: float
    baseline: float
    gc_only: int  # test examples only GC got right
    baseline_only: int
    examples: int  # test examples
    mcnemar_p: float

    @pydantic.computed_field
    @property
    def difference(self) -> float:
        return self.gc - self.baseline


def seed_result(seed: int, gc: float, baseline: float, pairs: PairedPredictions) -> SeedResult:
    return SeedResult(seed=seed, gc=gc, baseline=baseline, gc_only=pairs.gc_only,
                      baseline_only=pairs.baseline_only, examples=pairs.examples,
                      mcnemar_p=mcnemar_exact_p(pairs.gc_only, pairs.baseline_only))


class Study(Record):
    """Every seed's result and the one verdict they support; `interval_95`, `p_value` and `verdict` come from the
    test named in `test`, the robustness check only stands beside them."""

    metric: str
    seeds: List[SeedResult]
    mean_difference: float
    sd_difference: Optional[float]  # None with one seed
    interval_95: Tuple[float, float]
    p_value: Number  # None when the test is undefined (every seed gave the same non-zero difference)
    test: str
    verdict: str
    wins: int
    ties: int
    losses: int
    # At CONFIDENCE and POWER from the observed spread, and never below one test example (1/n): accuracy on n
    # examples cannot resolve less, and zero spread (every seed tied) must not read as "detects anything".
    smallest_detectable_difference: float
    robustness_test: Optional[str]  # None with one seed
    robustness_p: Optional[float]
    robustness_smallest_p: Optional[float]  # the smallest p the exact sign-flip test can give over these seeds

    @pydantic.computed_field
    @property
    def seed_caveat(self) -> Optional[str]:
        """What a reader must know before trusting the interval, or None."""
        if len(self.seeds) == 1:
            return ("One seed: this interval covers only test-set noise; training the pair again with another "
                    "seed typically moves the difference more than that. Use --seeds 8 for a verdict about GC.")
        if self.p_value is None:
            return (f"Every seed gave the same difference, so the t test is undefined and no direction is stated; "
                    f"the robustness check's p is {self.robustness_p:.4g}.")
        if self.robustness_smallest_p is not None and self.robustness_smallest_p >= SIGNIFICANCE:
            return (f"With {len(self.seeds)} seeds the exact sign-flip check cannot reach p < {SIGNIFICANCE:.2f} "
                    f"(its smallest p is {self.robustness_smallest_p:.4g}); use 6 or more seeds.")
        return None


def summarize(metric: str, seeds: Sequence[SeedResult], pairs: Sequence[PairedPredictions],
              confidence: float = CONFIDENCE, power: float = POWER) -> Study:
    """The across-seed statistics; with one seed, McNemar's exact test and its interval decide."""
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
                     verdict=verdict_of(interval, seeds[0].mcnemar_p), **_tally(differences),
                     smallest_detectable_difference=max(float(detectable), 1.0 / only.examples),
                     robustness_test=None, robustness_p=None, robustness_smallest_p=None)
    interval, p_value = paired_t_test(differences, confidence)
    degrees = len(seeds) - 1
    standard_error = float(stats.sem(differences))
    detectable = (stats.t.ppf(1 - (1 - confidence) / 2, degrees) + stats.t.ppf(power, degrees)) * standard_error
    return Study(metric=metric, seeds=list(seeds), mean_difference=float(differences.mean()),
                 sd_difference=float(np.std(differences, ddof=1)), interval_95=interval, p_value=p_value,
                 test=SEEDS_TEST, verdict=verdict_of(interval, p_value), **_tally(differences),
                 smallest_detectable_difference=max(float(detectable), 1.0 / min(seed.examples for seed in seeds)),
                 robustness_test=ROBUSTNESS_TEST, robustness_p=sign_flip_p(differences),
                 robustness_smallest_p=smallest_exact_p(len(seeds)))


def _tally(differences: np.ndarray, tolerance: float = 1e-9) -> dict:
    return {"wins": int(np.sum(differences > tolerance)), "ties": int(np.sum(np.abs(differences) <= tolerance)),
            "losses": int(np.sum(differences < -tolerance))}
