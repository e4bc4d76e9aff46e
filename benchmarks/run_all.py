"""`make bench`: every benchmark in its own process, then `results.md` and one JSON file per benchmark.

`make bench` (preset full, 40-70 minutes on 2 cores, by machine: see the Makefile) writes `benchmarks/results.md` and
`benchmarks/results/NAME.json`; `make bench-quick` (`--quick`) writes the same under `benchmarks/out/quick/`, so a
quick check never overwrites the reported figures. The quick preset checks that every benchmark works on little
data, so its processes run one per core at once (most of their time is imports and tracing, one core each); the
full preset runs one benchmark at a time, as its figures need the machine to themselves. Each benchmark's log goes to
`benchmarks/out/logs/`. A failing benchmark is reported as failed and the others still run; the exit status
is then 1.
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from benchmarks import catalog, report, results
from cli import allocator

BENCHMARKS_DIR = os.path.dirname(os.path.abspath(__file__))
REPOSITORY_ROOT = os.path.dirname(BENCHMARKS_DIR)
RESULTS_FILE = "results.md"
JSON_FOLDER = "results"
_ERROR_LINES = 3


def default_output_dir(preset: str) -> str:
    return BENCHMARKS_DIR if preset == "full" else os.path.join(BENCHMARKS_DIR, "out", preset)


def _json_path(output_dir: str, name: str) -> str:
    return os.path.join(output_dir, JSON_FOLDER, f"{name}.json")


def _failure(name: str, preset: str, log_path: str, return_code: int) -> results.BenchmarkResult:
    with open(log_path, encoding="utf-8", errors="replace") as log:
        last_lines = [line.strip() for line in log.read().splitlines() if line.strip()][-_ERROR_LINES:]
    return results.BenchmarkResult(
        name=name, title=catalog.TITLES[name], description="", preset=preset, parameters={}, figures=[],
        error=f"exit status {return_code}; log {os.path.relpath(log_path, REPOSITORY_ROOT)}: {' / '.join(last_lines)}")


def run_one(name: str, preset: str, output_dir: str, log_dir: str) -> results.BenchmarkResult:
    """Runs `python -m benchmarks.NAME` in a fresh interpreter and reads back its JSON."""
    json_path, log_path = _json_path(output_dir, name), os.path.join(log_dir, f"{name}.log")
    os.makedirs(log_dir, exist_ok=True)
    if os.path.exists(json_path):
        os.remove(json_path)  # a stale file must not pass for this run's result
    environment = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2",
                       PYTHONPATH=os.pathsep.join(filter(None, [REPOSITORY_ROOT, os.environ.get("PYTHONPATH")])))
    environment.update(allocator.preload_environment())  # as `gc-tfx run` and the image train
    with open(log_path, "w", encoding="utf-8") as log:
        command = [sys.executable, "-m", f"benchmarks.{name}", "--preset", preset, "--json", json_path]
        completed = subprocess.run(command, cwd=REPOSITORY_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                   check=False)
    if completed.returncode != 0 or not os.path.exists(json_path):
        result = _failure(name, preset, log_path, completed.returncode)
        results.write_json(result, json_path)
        return result
    return results.read_json(json_path)


def _print_result(result: results.BenchmarkResult, seconds: float) -> None:
    if result.error:
        print(f"  FAILED after {seconds:.0f} s: {result.error}", flush=True)
        return
    print(f"  done in {seconds:.0f} s", flush=True)
    for figure in result.figures:
        target = f" (target {figure.target.describe()}: {report.verdict(figure)})" if figure.target else ""
        print(f"    {figure.label}: {report.format_value(figure)}{target}", flush=True)


def run(names: Sequence[str], preset: str, output_dir: str, jobs: int = 1) -> List[results.BenchmarkResult]:
    """Runs `names`, `jobs` at a time; the page also shows earlier results of this preset in `output_dir` for the
    others."""
    started = time.monotonic()
    log_dir = os.path.join(BENCHMARKS_DIR, "out", "logs", preset)
    fresh: Dict[str, results.BenchmarkResult] = {}

    def timed(name: str):
        benchmark_started = time.monotonic()
        return run_one(name, preset, output_dir, log_dir), time.monotonic() - benchmark_started

    if jobs <= 1:
        for index, name in enumerate(names, start=1):
            print(f"[{index}/{len(names)}] {catalog.TITLES[name]} ({preset}) ...", flush=True)
            fresh[name], seconds = timed(name)
            _print_result(fresh[name], seconds)
    else:
        print(f"{len(names)} benchmarks ({preset}), {jobs} at a time ...", flush=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(timed, name): name for name in names}
            for index, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                name = futures[future]
                fresh[name], seconds = future.result()
                print(f"[{index}/{len(names)}] {catalog.TITLES[name]} ({preset})", flush=True)
                _print_result(fresh[name], seconds)
    shown = [fresh.get(name) or _earlier(output_dir, name, preset) for name in catalog.TITLES]
    shown = [result for result in shown if result is not None]
    command = "make bench" if preset == "full" else f"python -m benchmarks.run_all --preset {preset}"
    page = report.render(shown, preset=preset, total_seconds=time.monotonic() - started, command=command,
                         json_paths={result.name: f"{JSON_FOLDER}/{result.name}.json" for result in shown},
                         rerun=[] if set(names) == set(catalog.TITLES) else list(names))
    results_path = os.path.join(output_dir, RESULTS_FILE)
    with open(results_path, "w", encoding="utf-8") as results_file:
        results_file.write(page)
    print(f"Wrote {os.path.relpath(results_path, os.getcwd())}", flush=True)
    return list(fresh.values())


def _earlier(output_dir: str, name: str, preset: str) -> Optional[results.BenchmarkResult]:
    path = _json_path(output_dir, name)
    if not os.path.exists(path):
        return None
    earlier = results.read_json(path)
    return earlier if earlier.preset == preset else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Same as --preset quick: a few minutes.")
    parser.add_argument("--preset", choices=results.PRESETS, default="full")
    parser.add_argument("--only", action="append", choices=list(catalog.TITLES), metavar="NAME",
                        help=f"Run only this benchmark (repeatable): {', '.join(catalog.TITLES)}.")
    parser.add_argument("--output-dir", help="Where results.md and results/*.json go (default: benchmarks/ for "
                                             "full, benchmarks/out/PRESET/ otherwise).")
    args = parser.parse_args(argv)
    preset = "quick" if args.quick else args.preset
    output_dir = args.output_dir or default_output_dir(preset)
    jobs = 1 if preset == "full" else os.cpu_count() or 1
    ran = run(args.only or list(catalog.TITLES), preset, output_dir, jobs)
    return 1 if any(result.error for result in ran) else 0


if __name__ == "__main__":
    raise SystemExit(main())
