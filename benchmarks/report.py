"""Renders benchmark results as `results.md`: one summary table of every figure with its target and verdict,
the misses with their likely causes, then each benchmark's method, parameters and breakdowns.

Everything printed comes from the results themselves, so the page cannot disagree with the JSON beside it.
"""
import datetime
from typing import Dict, Iterable, List, Optional, Sequence

from benchmarks import catalog
from benchmarks.results import BenchmarkResult, Figure, Table

_VERDICTS = {True: "met", False: "**MISSED**", None: "no target"}


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_value(figure: Figure) -> str:
    if figure.value is None:
        return "not measured"
    if figure.unit == "x":  # 1.000x, not 1x: ratios near 1 are the ones read closely
        return f"{figure.value:.3f}x" if 0.1 <= abs(figure.value) < 10 else f"{figure.value:.3g}x"
    if figure.unit == "s":
        return f"{figure.value:.0f} s" if abs(figure.value) >= 100 else f"{figure.value:.3g} s"
    return f"{figure.value:.4g} {figure.unit}"


def verdict(figure: Figure) -> str:
    return _VERDICTS[figure.met]


def _markdown_table(columns: List[str], rows: Iterable[List[str]]) -> List[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return lines


def describe_machine(machine: Dict[str, object]) -> str:
    gpus = machine.get("gpus") or []
    gpu_text = f"{len(gpus)} GPU(s) ({', '.join(map(str, gpus))})" if gpus else "no GPU"
    return (f"{machine.get('cpu_count')} CPU cores, {machine.get('processor')}, {machine.get('memory_gib')} GiB RAM, "
            f"{gpu_text}; Python {machine.get('python')}, TensorFlow {machine.get('tensorflow')}, "
            f"{machine.get('platform')}; memory allocator {machine.get('allocator', 'not recorded')}")


def _summary(results: List[BenchmarkResult]) -> List[str]:
    rows = []
    for result in results:
        if result.error:
            rows.append([result.title, "(benchmark failed: see below)", "n/a", "", "**FAILED**"])
            continue
        for figure in result.figures:
            target = figure.target.describe() if figure.target else "none"
            measured = format_value(figure) + (f" ({figure.spread})" if figure.spread else "")
            rows.append([result.title, figure.label, measured, target, verdict(figure)])
    return _markdown_table(["benchmark", "figure", "measured", "target", "verdict"], rows)


def _misses(results: List[BenchmarkResult]) -> List[str]:
    lines = []
    for result in results:
        if result.error:
            lines.append(f"- **{result.title}** did not finish: {_escape(result.error)}")
        for figure in result.figures:
            if figure.met is False:
                lines.append(f"- **{result.title}: {figure.label}** measured {format_value(figure)}, target "
                             f"{figure.target.describe()}. Likely cause: {figure.likely_cause_if_missed or 'unknown'}")
    return lines or ["None: every figure with a target met it in this run."]


def _table(table: Table) -> List[str]:
    return [f"**{table.title}**", "", *_markdown_table(table.columns, table.rows), ""]


def _section(result: BenchmarkResult, json_path: str) -> List[str]:
    lines = [f"### {result.title}", ""]
    if result.error:
        return lines + [f"Failed: `{_escape(result.error)}`", ""]
    lines += [result.description, ""]
    parameters = ", ".join(f"{name}={value}" for name, value in result.parameters.items())
    lines += [f"Parameters ({result.preset}): {parameters}. Peak memory of the benchmark process: "
              f"{result.peak_rss_mib:.0f} MiB. Finished {result.finished_at}. Raw samples: `{json_path}`.", ""]
    for table in result.tables:
        lines += _table(table)
    return lines


def render(results: List[BenchmarkResult], *, preset: str, json_paths: Dict[str, str],
           total_seconds: Optional[float] = None, command: str = "make bench", rerun: Sequence[str] = ()) -> str:
    """The whole results.md page; `rerun` names the benchmarks this invocation ran when it ran only some."""
    machine = next((result.machine for result in results if result.machine), {})
    finished = max((result.finished_at for result in results if result.finished_at),
                   default=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    took = f", {total_seconds / 60:.0f} min in all" if total_seconds is not None else ""
    if rerun:
        took = (f"; this invocation re-ran {', '.join(catalog.TITLES.get(name, name) for name in rerun)}"
                f"{f' ({total_seconds / 60:.0f} min)' if total_seconds is not None else ''}, the other figures are "
                "from the last run of the same preset (each section says when it finished)")
    scope = "" if preset == "full" else (f" **{preset} preset: fewer and smaller images, fewer epochs and pairs "
                                          "than the full run; its figures check the harness, not the targets.**")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (preset `{preset}`), finished {finished}{took}.{scope}",
        "",
        "Every comparison is a ratio measured within one run on one machine, mostly from interleaved pairs (A and B "
        "back to back, alternating which goes first) summarised by the median and interquartile range (IQR). The "
        "machine is shared with other jobs, so absolute seconds and images/s hold for this run only: compare ratios, "
        "never seconds across runs.",
        "",
        f"Machine: {describe_machine(machine)}.",
    ]
    if not machine.get("gpus"):
        lines += ["", "No GPU was available for this run: MirroredStrategy ran on two logical CPU devices and mixed "
                      "precision was not measured."]
    lines += ["", "## Summary", "", *_summary(results), "", "## Targets missed", "", *_misses(results), "",
              "## Method and breakdowns", ""]
    for result in results:
        lines += _section(result, json_paths.get(result.name, ""))
    return "\n".join(lines).rstrip() + "\n"
