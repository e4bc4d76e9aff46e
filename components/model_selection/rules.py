"""The push rule: which one of the run's 2N models is pushed, and why. Pure Python, so every rule is a table test.

1. The method comes from the verdict (paired_statistics): GC when it is `gc_better`, otherwise the baseline: the
   simpler model stays unless GC earns its place, so `no_detectable_difference` keeps the baseline.
2. Among that method's seeds, the best on the eval split (validation, as its Trainer recorded it after the last
   epoch): highest binary accuracy, then lowest log loss, then the lowest seed. The test split decided the verdict; it never picks a seed.
3. The chosen model is pushed only if its test binary accuracy meets the quality floor,
4. and only if it scores higher than the model serving at the push destination on this run's test split (a tie
   keeps the serving model: replacing it would gain nothing). `force_push` overrides this guard, not the floor.
"""
import math
from typing import Optional, Sequence

from results import paired_statistics
from results.selection import TOLERANCE, Candidate, Choice, ServingModel
from trainer.config import BASELINE, GC

PRIMARY_METRIC = "binary_accuracy"  # what the verdict compares, as TFMA names it

RULE = ("The method the verdict favours is pushed (the baseline, the simpler model, unless GC is better), as its "
        "seed with the best eval-split accuracy (then lowest eval log loss); it must meet the quality floor on "
        "the test split and score higher there than the model serving at the push destination (ties keep the "
        "serving model).")


def method_for_verdict(verdict: str) -> str:
    if verdict not in paired_statistics.VERDICTS:
        raise ValueError(f"Unknown verdict {verdict!r}; expected one of {paired_statistics.VERDICTS}")
    return GC if verdict == paired_statistics.GC_BETTER else BASELINE


def choose_model(verdict: str, candidates: Sequence[Candidate], quality_floor: float,
                 serving: Optional[ServingModel] = None, force_push: bool = False) -> Choice:
    """Applies RULE; ValueError when the verdict's method has no candidate or a score is NaN."""
    if math.isnan(quality_floor):
        raise ValueError(f"quality_floor must be a number, got {quality_floor}")
    if serving is not None and math.isnan(serving.test_value):
        raise ValueError(f"The serving model {serving.path} has a NaN score")
    method = method_for_verdict(verdict)
    eligible = [candidate for candidate in candidates if candidate.method == method]
    if not eligible:
        raise ValueError(f"No {method} model among the candidates {[(c.method, c.seed) for c in candidates]}")
    for candidate in eligible:
        if any(math.isnan(value) for value in (candidate.eval_accuracy, candidate.eval_log_loss,
                                               candidate.test_value)):
            raise ValueError(f"The {method} model of seed {candidate.seed} has a NaN score: {candidate}")
    best_accuracy = max(candidate.eval_accuracy for candidate in eligible)
    # Accuracy within TOLERANCE ties; log loss then decides, and the lowest seed when that ties too.
    chosen = min((c for c in eligible if c.eval_accuracy >= best_accuracy - TOLERANCE),
                 key=lambda c: (c.eval_log_loss, c.seed))
    why_method = {GC: "GC is better", BASELINE: "the baseline stays unless GC is better"}[method]
    why_seed = (f"seed {chosen.seed} has the best eval accuracy {_format(chosen.eval_accuracy)}"
                if len(eligible) > 1 else f"seed {chosen.seed}")
    pushed_because = f"Pushed {method} ({why_method}; {why_seed})"
    scores = f"test {PRIMARY_METRIC} {_format(chosen.test_value)}"
    forced = False
    if chosen.test_value < quality_floor - TOLERANCE:
        should_push = False
        reason = (f"Nothing pushed: the chosen model, {method} seed {chosen.seed}, has {scores}, below the floor "
                  f"{_format(quality_floor)}.")
    elif serving is None:
        should_push = True
        reason = f"{pushed_because}: {scores} meets the floor {_format(quality_floor)}."
    elif chosen.test_value > serving.test_value + TOLERANCE:
        should_push = True
        reason = (f"{pushed_because}: {scores} meets the floor {_format(quality_floor)} and beats the serving "
                  f"model's {_format(serving.test_value)} (version {serving.version}, on this run's test split).")
    elif force_push:
        should_push = forced = True
        reason = (f"{pushed_because}, forced by --force-push: {scores} does not beat the serving model's "
                  f"{_format(serving.test_value)} (version {serving.version}, on this run's test split).")
    else:
        should_push = False
        reason = (f"Nothing pushed: the chosen model, {method} seed {chosen.seed}, scores {scores} on this run's "
                  f"test split, the serving model (version {serving.version}) {_format(serving.test_value)}; "
                  f"only a higher score replaces it (--force-push pushes anyway).")
    return Choice(method=method, seed=chosen.seed, test_value=chosen.test_value, quality_floor=quality_floor,
                  should_push=should_push, reason=reason, serving=serving, forced=forced)


def _format(value: float) -> str:
    # Six significant digits show float32 results as written (0.7, not 0.699999988).
    return f"{value:.6g}"
