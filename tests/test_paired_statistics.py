"""The verdict's statistics against values computed independently: exact binomial sums with math.comb, every sign
flip enumerated, t quantiles from printed tables, t tail areas by Simpson's rule over the density written out with
math.gamma, Clopper-Pearson bounds by bisection of the binomial tail."""
import itertools
import math
from typing import Tuple

import numpy as np
import pytest

from results import paired_statistics as ps

# Student t 0.975 quantiles, from the printed tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 7: 2.365}


def _binomial_two_sided_p(successes: int, trials: int) -> float:
    """Exact two-sided p at π = 1/2: the probability of outcomes no likelier than the observed one."""
    probabilities = [math.comb(trials, k) / 2 ** trials for k in range(trials + 1)]
    observed = probabilities[successes]
    return min(1.0, sum(p for p in probabilities if p <= observed * (1 + 1e-7)))


def _binomial_tail_at_least(successes: int, trials: int, probability: float) -> float:
    return sum(math.comb(trials, k) * probability ** k * (1 - probability) ** (trials - k)
               for k in range(successes, trials + 1))


def _clopper_pearson(successes: int, trials: int, alpha: float = 0.05) -> Tuple[float, float]:
    """By bisection: low solves P(X >= x | low) = α/2, high solves P(X <= x | high) = α/2."""
    def solve(function, target):
        lo, hi = 0.0, 1.0
        for _ in range(100):
            middle = (lo + hi) / 2
            if function(middle) < target:
                lo = middle
            else:
                hi = middle
        return (lo + hi) / 2
    low = 0.0 if successes == 0 else solve(lambda p: _binomial_tail_at_least(successes, trials, p), alpha / 2)
    high = 1.0 if successes == trials else 1.0 - solve(
        lambda q: _binomial_tail_at_least(trials - successes, trials, q), alpha / 2)
    return low, high


def _t_two_sided_p(t: float, degrees: int, steps: int = 20000) -> float:
    """2 * P(T > |t|) for Student's t: one minus Simpson's rule over the density on [-|t|, |t|]."""
    constant = math.gamma((degrees + 1) / 2) / (math.sqrt(degrees * math.pi) * math.gamma(degrees / 2))
    density = lambda x: constant * (1 + x * x / degrees) ** (-(degrees + 1) / 2)  # noqa: E731
    width = 2 * abs(t) / steps
    total = density(-abs(t)) + density(abs(t))
    total += sum((4 if k % 2 else 2) * density(-abs(t) + k * width) for k in range(1, steps))
    return 1.0 - total * width / 3


def _t_statistic(differences) -> Tuple[float, float, float]:
    """(mean, sd, t) of the differences, by hand."""
    n = len(differences)
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    return mean, sd, mean / (sd / math.sqrt(n))


def _pairs(gc_only: int, baseline_only: int, both_right: int, both_wrong: int) -> ps.PairedPredictions:
    gc = [True] * gc_only + [False] * baseline_only + [True] * both_right + [False] * both_wrong
    baseline = [False] * gc_only + [True] * baseline_only + [True] * both_right + [False] * both_wrong
    return ps.PairedPredictions(np.array(gc), np.array(baseline))


@pytest.mark.parametrize("gc_only, baseline_only", [(21, 9), (9, 21), (5, 0), (3, 4), (40, 40), (0, 1)])
def test_mcnemar_exact_p_matches_the_binomial_sum(gc_only, baseline_only):
    expected = _binomial_two_sided_p(gc_only, gc_only + baseline_only)
    assert ps.mcnemar_exact_p(gc_only, baseline_only) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_of_the_issue_example_is_0_043():
    # 21 vs 9 disagreements on the demo's test split, as the verdict issue reports: p = 0.043.
    assert ps.mcnemar_exact_p(21, 9) == pytest.approx(0.0428, abs=5e-4)


def test_models_that_never_disagree_have_p_1_and_a_point_interval():
    pairs = _pairs(0, 0, 200, 56)
    assert ps.mcnemar_exact_p(pairs.gc_only, pairs.baseline_only) == 1.0
    assert ps.test_set_interval(pairs) == (0.0, 0.0)


@pytest.mark.parametrize("gc_only, baseline_only, both_right, both_wrong",
                         [(21, 9, 150, 76), (2, 10, 200, 44), (7, 7, 100, 142), (4, 0, 252, 0)])
def test_test_set_interval_maps_clopper_pearson_onto_the_difference(gc_only, baseline_only, both_right, both_wrong):
    pairs = _pairs(gc_only, baseline_only, both_right, both_wrong)
    discordant, examples = gc_only + baseline_only, pairs.examples
    low, high = _clopper_pearson(gc_only, discordant)
    expected = ((2 * low - 1) * discordant / examples, (2 * high - 1) * discordant / examples)
    assert ps.test_set_interval(pairs) == pytest.approx(expected, abs=1e-7)
    difference = (gc_only - baseline_only) / examples
    assert expected[0] <= difference <= expected[1]


@pytest.mark.parametrize("differences", [
    [0.02, -0.01], [0.01, 0.03, 0.02, 0.00], [0.05, 0.01, 0.04, 0.02, 0.03, 0.06, 0.02, 0.04],
    [-0.012, 0.004, -0.02],
])
def test_paired_t_test_against_table_quantiles_and_the_integrated_density(differences):
    n = len(differences)
    mean, sd, t = _t_statistic(differences)
    half_width = T_975[n - 1] * sd / math.sqrt(n)
    (low, high), p_value = ps.paired_t_test(differences)
    # Table quantiles have 4 significant digits.
    assert low == pytest.approx(mean - half_width, rel=2e-3, abs=1e-6)
    assert high == pytest.approx(mean + half_width, rel=2e-3, abs=1e-6)
    assert p_value == pytest.approx(_t_two_sided_p(t, n - 1), abs=1e-6)
    # One test: its interval excludes 0 exactly when its p is below 0.05.
    assert (low > 0 or high < 0) == (p_value < 0.05)


def test_paired_t_test_needs_two_seeds():
    with pytest.raises(ValueError, match="at least two seeds"):
        ps.paired_t_test([0.1])


def test_zero_spread_leaves_the_t_test_undefined_unless_every_difference_is_zero():
    assert ps.paired_t_test([0.0, 0.0, 0.0]) == ((0.0, 0.0), 1.0)
    assert ps.paired_t_test([0.0078125] * 4) == ((0.0078125, 0.0078125), None)


@pytest.mark.parametrize("differences", [
    [0.02, -0.01, 0.03], [0.01, 0.02, 0.03, 0.04, 0.05, 0.06], [0.01, -0.02, 0.0, 0.04, 0.01, -0.01, 0.02, 0.03],
    [0.0, 0.0, 0.01],
])
def test_sign_flip_p_enumerates_every_flip(differences):
    observed = abs(sum(differences))
    flips = list(itertools.product((1, -1), repeat=len(differences)))
    at_least_as_extreme = sum(abs(sum(s * d for s, d in zip(signs, differences))) >= observed - 1e-12
                              for signs in flips)
    assert ps.sign_flip_p(differences) == pytest.approx(at_least_as_extreme / len(flips), rel=1e-9)


def test_all_zero_differences_have_p_1():
    assert ps.sign_flip_p([0.0, 0.0, 0.0]) == 1.0


@pytest.mark.parametrize("seeds, smallest", [(2, 0.5), (5, 0.0625), (6, 0.03125), (8, 0.0078125)])
def test_smallest_exact_p(seeds, smallest):
    assert ps.smallest_exact_p(seeds) == smallest
    same_sign = [0.01 * (k + 1) for k in range(seeds)]
    assert ps.sign_flip_p(same_sign) == pytest.approx(smallest)


@pytest.mark.parametrize("interval, p_value, verdict", [
    ((0.001, 0.03), 0.01, ps.GC_BETTER), ((-0.03, -0.001), 0.01, ps.GC_WORSE),
    ((-0.01, 0.02), 0.4, ps.NO_DETECTABLE_DIFFERENCE), ((0.0, 0.02), 0.05, ps.NO_DETECTABLE_DIFFERENCE),
    ((0.0, 0.0), 1.0, ps.NO_DETECTABLE_DIFFERENCE),
    # An interval that excludes 0 beside a p that does not reach 0.05 states no direction, and neither does an
    # undefined p.
    ((0.001, 0.03), 0.0625, ps.NO_DETECTABLE_DIFFERENCE), ((-0.03, -0.001), 0.06, ps.NO_DETECTABLE_DIFFERENCE),
    ((0.01, 0.01), None, ps.NO_DETECTABLE_DIFFERENCE),
])
def test_a_direction_needs_the_interval_to_exclude_0_and_p_below_005(interval, p_value, verdict):
    assert ps.verdict_of(interval, p_value) == verdict


def _study(differences, examples: int = 256) -> ps.Study:
    seeds, pairs = [], []
    for index, difference in enumerate(differences):
        moved = round(difference * examples)
        pair = _pairs(max(moved, 0) + 3, max(-moved, 0) + 3, 200, examples - 206 - abs(moved))
        pairs.append(pair)
        baseline = 0.8
        seeds.append(ps.seed_result(42 + index, baseline + moved / examples, baseline, pair))
    return ps.summarize("binary_accuracy", seeds, pairs)


def test_study_over_eight_seeds():
    differences = [0.0234375, 0.0078125, 0.015625, 0.0, 0.03125, 0.01171875, 0.0195, -0.00390625]
    study = _study(differences)
    rounded = [round(d * 256) / 256 for d in differences]
    mean = sum(rounded) / 8
    sd = math.sqrt(sum((d - mean) ** 2 for d in rounded) / 7)
    assert study.mean_difference == pytest.approx(mean)
    assert study.sd_difference == pytest.approx(sd)
    assert study.interval_95[0] == pytest.approx(mean - T_975[7] * sd / math.sqrt(8), rel=2e-3)
    assert (study.wins, study.ties, study.losses) == (6, 1, 1)
    assert study.verdict == ps.GC_BETTER and study.interval_95[0] > 0 and study.p_value < 0.05
    assert study.robustness_smallest_p == 1 / 128 and study.seed_caveat is None
    # The power calculation: (t.975 + t.80 at 7 df) * se; t.80(7) = 0.896 from the tables.
    assert study.smallest_detectable_difference == pytest.approx((2.365 + 0.896) * sd / math.sqrt(8), rel=2e-3)


def test_the_smallest_detectable_difference_is_never_below_one_test_example():
    tied = _study([0.0, 0.0, 0.0])
    assert tied.sd_difference == 0.0 and tied.interval_95 == (0.0, 0.0)
    assert tied.smallest_detectable_difference == pytest.approx(1 / 256)


def test_three_seeds_say_the_exact_check_cannot_reach_005():
    study = _study([0.01, 0.02, -0.01])
    assert study.verdict == ps.NO_DETECTABLE_DIFFERENCE
    assert "cannot reach p < 0.05" in study.seed_caveat and "0.25" in study.seed_caveat


# The six seeds of the issue: the t interval excludes 0, the sign-flip p is 0.0625. Interval, p and verdict must
# come from the t test; the sign-flip p is only the labelled robustness check. And the same with every sign flipped.
SIX_SEEDS = [0.010, 0.012, 0.011, 0.013, 0.009, -0.004]


@pytest.mark.parametrize("sign, verdict", [(1, ps.GC_BETTER), (-1, ps.GC_WORSE)])
def test_interval_p_and_verdict_come_from_one_test(sign, verdict):
    differences = [sign * difference for difference in SIX_SEEDS]
    study = _study(differences, examples=1000)
    rounded = [round(difference * 1000) / 1000 for difference in differences]
    mean, sd, t = _t_statistic(rounded)
    assert study.interval_95 == pytest.approx((mean - 2.571 * sd / math.sqrt(6), mean + 2.571 * sd / math.sqrt(6)),
                                              rel=2e-3)
    assert study.p_value == pytest.approx(_t_two_sided_p(t, 5), abs=1e-6) and study.p_value < 0.05
    assert study.verdict == verdict and study.test == ps.SEEDS_TEST
    # Four sign patterns of 64 are as extreme (both signs of the -0.004, and their mirrors): 0.0625, shown as the
    # robustness check, not as the verdict's p.
    assert study.robustness_p == pytest.approx(4 / 64) and "robustness" in study.robustness_test


@pytest.mark.parametrize("differences", [SIX_SEEDS, [0.02, -0.01, 0.03], [0.01, 0.03, 0.02, 0.00],
                                         [0.0234375, 0.0078125, 0.015625, 0.0, 0.03125, 0.01171875, 0.0195, -0.004]])
def test_the_verdict_never_contradicts_its_interval_or_p(differences):
    study = _study(differences)
    low, high = study.interval_95
    directional = study.verdict != ps.NO_DETECTABLE_DIFFERENCE
    assert directional == ((low > 0 or high < 0) and study.p_value < 0.05)
    assert (study.verdict == ps.GC_BETTER) <= (low > 0) and (study.verdict == ps.GC_WORSE) <= (high < 0)


def test_one_seed_uses_the_test_set_interval_and_says_seeds_vary_more():
    seeds = [ps.seed_result(42, 0.84375, 0.796875, _pairs(21, 9, 195, 31))]
    study = ps.summarize("binary_accuracy", seeds, [_pairs(21, 9, 195, 31)])
    low, high = _clopper_pearson(21, 30)
    assert study.interval_95 == pytest.approx(((2 * low - 1) * 30 / 256, (2 * high - 1) * 30 / 256), abs=1e-7)
    assert study.p_value == pytest.approx(_binomial_two_sided_p(21, 30))
    assert study.sd_difference is None and study.robustness_p is None and study.robustness_smallest_p is None
    assert "One seed" in study.seed_caveat and "--seeds" in study.seed_caveat
    # p 0.043 and an interval above 0, from the same exact test: the two agree.
    assert study.interval_95[0] > 0 and study.verdict == ps.GC_BETTER


@pytest.mark.parametrize("gc_only, baseline_only", [(21, 9), (20, 9), (9, 21), (13, 4), (30, 15), (5, 0), (6, 0)])
def test_one_seed_interval_excludes_0_exactly_when_mcnemar_p_is_below_005(gc_only, baseline_only):
    pairs = _pairs(gc_only, baseline_only, 150, 256 - 150 - gc_only - baseline_only)
    low, high = ps.test_set_interval(pairs)
    assert (low > 0 or high < 0) == (ps.mcnemar_exact_p(gc_only, baseline_only) < 0.05)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="one paired prediction set per seed"):
        ps.summarize("binary_accuracy", [], [])
    with pytest.raises(ValueError, match="two equal 1-D arrays"):
        ps.PairedPredictions(np.ones(3, bool), np.ones(4, bool))
