"""The selection rule: which of the two models (GC or baseline) to push, and why.

Pure Python, so every rule is a table test; the TFX component only feeds it TFMA's numbers.
"""
import dataclasses
import math
from typing import Mapping, Optional, Sequence, Tuple

from trainer.config import BASELINE, GC  # the baseline is the simpler choice when they tie

# Names TFMA/Keras give to metrics where smaller is better; any other metric counts as higher-is-better.
LOWER_IS_BETTER_METRICS = frozenset({
    "loss",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "expected_calibration_error",
})

PRIMARY_METRIC = "binary_accuracy"  # what decides the comparison, as TFMA names it

# Two values closer than this count as equal. TFMA's metrics are float32: 1e-6 absorbs rounding (a float32 step
# just below 1.0 is 6e-8) yet is far below what one example changes on any test set under a million examples.
DEFAULT_TOLERANCE = 1e-6


@dataclasses.dataclass(frozen=True)
class SelectionDecision:
    """The outcome of comparing the two models.

    `best` is the better model on the rules alone; `winner` is `best` if it meets the quality floor, else None
    (push nothing).
    """

    winner: Optional[str]
    best: str
    metric: str
    higher_is_better: bool
    gc_value: float
    baseline_value: float
    quality_floor: float
    decided_by: str  # the metric that separated the models, or "simplicity" when every metric tied
    reason: str

    @property
    def should_push(self) -> bool:
        return self.winner is not None


def metric_higher_is_better(metric: str) -> bool:
    """Direction of a metric by its TFMA name: losses and errors are lower-is-better, the rest higher."""
    return metric not in LOWER_IS_BETTER_METRICS


def select_better_model(
    gc_metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float],
    *,
    quality_floor: float,
    metric: str = PRIMARY_METRIC,
    tie_breakers: Sequence[str] = ("auc",),
    tolerance: float = DEFAULT_TOLERANCE,
) -> SelectionDecision:
    """Picks the better model on `metric`, breaks ties on `tie_breakers` in order, then prefers the baseline.

    Args:
      gc_metrics: metric name -> value for the GC model (TFMA model_name "gc").
      baseline_metrics: metric name -> value for the baseline model.
      quality_floor: the worst acceptable value of `metric` for the winner (a ceiling when lower is better);
        a winner exactly on it (within `tolerance`) passes.
      metric: the primary metric name, as TFMA writes it; its direction follows from the name
        (`metric_higher_is_better`).
      tie_breakers: metrics consulted in order when the primary ties; each uses its own direction.
      tolerance: absolute difference under which two values tie, also granted at the floor.

    Raises:
      ValueError: a metric missing from either model, a NaN value among those consulted, a NaN floor or a
        negative tolerance.

    >>> decision = select_better_model({"binary_accuracy": 0.8, "auc": 0.9}, {"binary_accuracy": 0.8, "auc": 0.85},
    ...                                quality_floor=0.6)
    >>> decision.winner, decision.decided_by
    ('gc', 'auc')
    """
    if math.isnan(quality_floor):
        raise ValueError(f"quality_floor must be a number, got {quality_floor}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    metrics_by_model = {GC: gc_metrics, BASELINE: baseline_metrics}
    for name in (metric, *tie_breakers):
        for model, metrics in metrics_by_model.items():
            if name not in metrics:
                raise ValueError(
                    f"Unknown metric {name!r}: the {model} model has only {', '.join(sorted(metrics)) or 'none'}")
    higher_is_better = metric_higher_is_better(metric)

    metrics_in_order = [(metric, higher_is_better)] + [(name, metric_higher_is_better(name)) for name in tie_breakers]
    best, decided_by, evidence = _rank(gc_metrics, baseline_metrics, metrics_in_order, tolerance)
    gc_value = _value(gc_metrics, metric, GC)
    baseline_value = _value(baseline_metrics, metric, BASELINE)
    best_value = gc_value if best == GC else baseline_value
    if higher_is_better:
        meets_floor, shortfall = best_value >= quality_floor - tolerance, "below"
    else:
        meets_floor, shortfall = best_value <= quality_floor + tolerance, "above"
    if meets_floor:
        reason = f"Selected {best}: {evidence}; it meets the floor {_format(quality_floor)}."
    else:
        direction = "" if higher_is_better else " (lower is better)"
        reason = (f"Nothing pushed: the best {metric}, {_format(best_value)} ({best}), is {shortfall} the floor "
                  f"{_format(quality_floor)}{direction}.")
    return SelectionDecision(
        winner=best if meets_floor else None,
        best=best,
        metric=metric,
        higher_is_better=higher_is_better,
        gc_value=gc_value,
        baseline_value=baseline_value,
        quality_floor=quality_floor,
        decided_by=decided_by,
        reason=reason,
    )


def _value(metrics: Mapping[str, float], name: str, model: str) -> float:
    value = float(metrics[name])
    if math.isnan(value):
        raise ValueError(f"The {model} model's {name} is NaN, so the models cannot be compared on it")
    return value


def _rank(gc_metrics: Mapping[str, float], baseline_metrics: Mapping[str, float],
          metrics_in_order: Sequence[Tuple[str, bool]], tolerance: float) -> Tuple[str, str, str]:
    """(better model, the metric that separated them or "simplicity", the evidence as a phrase)."""
    ties = []
    for name, higher_is_better in metrics_in_order:
        gc_value = _value(gc_metrics, name, GC)
        baseline_value = _value(baseline_metrics, name, BASELINE)
        if abs(gc_value - baseline_value) <= tolerance:
            ties.append(f"{name} ties at {_format(gc_value)}")
            continue
        best = GC if (gc_value > baseline_value) == higher_is_better else BASELINE
        values = {GC: gc_value, BASELINE: baseline_value}
        loser = BASELINE if best == GC else GC
        comparison = f"{name} {_format(values[best])} vs {_format(values[loser])} for {loser}"
        return best, name, ", ".join(ties + [comparison])
    # Every metric tied: Gradient Centralization must earn its extra complexity, so the baseline stays.
    return BASELINE, "simplicity", f"{' and '.join(ties)}, so the simpler model (no Gradient Centralization) stays"


def _format(value: float) -> str:
    # Six significant digits show float32 results as written (0.7, not 0.699999988).
    return f"{value:.6g}"
