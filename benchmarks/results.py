"""What every benchmark returns: figures with their targets, the parameters, and the machine, as JSON.

A figure carries its own target and the likely cause to print when it misses, so the report never needs to
know a benchmark's internals and a miss is stated where the number is.
"""
import dataclasses
import datetime
import json
import os
import resource
from typing import Any, Dict, List, Optional

from benchmarks import machine

PRESETS = ("full", "quick", "smoke")


@dataclasses.dataclass(frozen=True)
class Target:
    """`value <comparison> threshold`, e.g. a GC step-time ratio `<=` 1.02."""

    comparison: str  # "<=" or ">="
    threshold: float

    def __post_init__(self) -> None:
        if self.comparison not in ("<=", ">="):
            raise ValueError(f"Target comparison must be '<=' or '>=', got {self.comparison!r}.")

    def is_met(self, value: float) -> bool:
        return value <= self.threshold if self.comparison == "<=" else value >= self.threshold

    def describe(self) -> str:
        return f"{self.comparison} {self.threshold:g}"


@dataclasses.dataclass(frozen=True)
class Figure:
    """One reported number; `target` None means informational (the issue sets no target for it)."""

    key: str
    label: str
    value: Optional[float]  # None: not measured here, `spread` says why
    unit: str  # "x" for ratios, "images/s", "s", "MiB", ...
    spread: str = ""  # how it was measured and how much it varied, e.g. "IQR 0.99-1.01 over 12 pairs"
    target: Optional[Target] = None
    likely_cause_if_missed: str = ""

    @property
    def met(self) -> Optional[bool]:
        if self.target is None or self.value is None:
            return None
        return self.target.is_met(self.value)

    def to_json(self) -> Dict[str, Any]:
        return {**dataclasses.asdict(self), "met": self.met}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Figure":
        target = Target(**data["target"]) if data.get("target") else None
        return cls(**{**{name: data[name] for name in _FIGURE_FIELDS if name in data}, "target": target})


_FIGURE_FIELDS = [field.name for field in dataclasses.fields(Figure)]


@dataclasses.dataclass(frozen=True)
class Table:
    """A breakdown shown under the benchmark's section of results.md, e.g. seconds per pipeline component."""

    title: str
    columns: List[str]
    rows: List[List[str]]


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
    """A benchmark's figures plus everything needed to judge them later: parameters, raw samples, machine."""

    name: str  # module name, e.g. "gc_overhead"
    title: str
    description: str  # what is measured and how: the benchmark module's docstring
    preset: str
    parameters: Dict[str, Any]
    figures: List[Figure]
    details: Dict[str, Any] = dataclasses.field(default_factory=dict)  # raw samples, per-component times, ...
    tables: List[Table] = dataclasses.field(default_factory=list)
    machine: Dict[str, Any] = dataclasses.field(default_factory=dict)
    finished_at: str = ""
    peak_rss_mib: Optional[float] = None  # this benchmark process's own peak resident memory
    error: Optional[str] = None  # set by run_all when the benchmark process failed

    def to_json(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["figures"] = [figure.to_json() for figure in self.figures]
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "BenchmarkResult":
        return cls(**{**data, "figures": [Figure.from_json(figure) for figure in data["figures"]],
                      "tables": [Table(**table) for table in data.get("tables", [])]})


def peak_rss_mib() -> float:
    """This process's peak resident set size; Linux reports ru_maxrss in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def finish(name: str, title: str, description: str, preset: str, parameters: Dict[str, Any],
           figures: List[Figure], details: Dict[str, Any], tables: Optional[List[Table]] = None) -> BenchmarkResult:
    """Stamps a result with the machine description, the time and this process's peak memory."""
    return BenchmarkResult(
        name=name, title=title, description=description.strip(), preset=preset, parameters=parameters,
        figures=figures, details=details, tables=tables or [], machine=machine.describe(),
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        peak_rss_mib=round(peak_rss_mib(), 1))


def write_json(result: BenchmarkResult, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as json_file:
        json.dump(result.to_json(), json_file, indent=2)
        json_file.write("\n")


def read_json(path: str) -> BenchmarkResult:
    with open(path, encoding="utf-8") as json_file:
        return BenchmarkResult.from_json(json.load(json_file))
