"""The command line every benchmark module shares: `python -m benchmarks.NAME --preset quick --json FILE`.

Each benchmark runs in its own process (run_all starts them), so one benchmark's TensorFlow state, threads and
memory never colour another's numbers.
"""
import argparse
import os
import sys
import tempfile
from typing import Callable, Mapping, Optional, Sequence, TypeVar

from absl import logging

from benchmarks import results

SettingsT = TypeVar("SettingsT")


def main(description: str, measure: Callable[[SettingsT, str, str], results.BenchmarkResult],
         presets: Mapping[str, SettingsT], argv: Optional[Sequence[str]] = None) -> int:
    """Parses the shared flags, runs `measure(settings, preset, work_dir)` and writes its JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--preset", choices=results.PRESETS, default="full",
                        help="full: the figures results.md reports; quick: minutes; smoke: seconds, plumbing only.")
    parser.add_argument("--json", help="Write the result here as JSON (default: print it only).")
    parser.add_argument("--work-dir", help="Keep generated data and outputs here (default: a temporary folder).")
    args = parser.parse_args(argv)
    logging.set_verbosity(logging.INFO)
    settings = presets[args.preset]
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        result = measure(settings, args.preset, args.work_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="gc_tfx_bench_") as work_dir:
            result = measure(settings, args.preset, work_dir)
    for figure in result.figures:
        verdict = {True: "met", False: "MISSED", None: "no target"}[figure.met]
        target = f" (target {figure.target.describe()}: {verdict})" if figure.target else ""
        value = "not measured" if figure.value is None else f"{figure.value:.4g} {figure.unit}"
        print(f"{result.title}: {figure.label} = {value}{target} [{figure.spread}]", file=sys.stderr)
    if args.json:
        results.write_json(result, args.json)
    return 0
