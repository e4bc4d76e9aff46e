"""Thread, oneDNN and allocator settings: does any beat TensorFlow's defaults for the Trainer's step here?

Each setting must be in the environment before TensorFlow starts, so every measurement is a fresh process running
the training-efficiency benchmark's step timing (the Trainer's compiled model, `train_on_batch` on an in-memory
batch). Each round runs the default and every variant once, in an order that rotates between rounds, and each
variant is reported as its training images/s over the default's in the same round (median over rounds).

Variants: one inter-op thread with intra-op threads = cores (TensorFlow's default lets both pools use every core,
which can oversubscribe two cores); oneDNN off (`TF_ENABLE_ONEDNN_OPTS=0`: Eigen's kernels); glibc's malloc
instead of tcmalloc (the allocator `gc-tfx run`, the image and `make bench` use; the default here is whatever
the benchmark process runs with, tcmalloc under `make bench` when it is installed).
"""
import dataclasses
import json
import os
import subprocess
import sys
from typing import Dict, List

from absl import logging

from benchmarks import catalog, command_line, paired_timing, results

NAME = "thread_settings"
TITLE = catalog.TITLES[NAME]
_UNSET = None  # a variable the variant removes from the environment


@dataclasses.dataclass(frozen=True)
class Settings:
    rounds: int
    child_preset: str  # the training_efficiency preset each process runs


PRESETS = {
    "full": Settings(rounds=2, child_preset="quick"),
    "quick": Settings(rounds=1, child_preset="smoke"),  # bench-quick checks the plumbing; its figures mean little
    "smoke": Settings(rounds=1, child_preset="smoke"),
}


def variants() -> Dict[str, Dict[str, object]]:
    cores = str(os.cpu_count() or 1)
    return {
        "default": {},
        f"inter-op 1, intra-op {cores}": {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": cores},
        "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
        "glibc malloc": {"LD_PRELOAD": _UNSET, "GC_TFX_ALLOCATOR": "glibc"},
    }


def _images_per_second(changes: Dict[str, object], child_preset: str, work_dir: str, label: str) -> float:
    environment = dict(os.environ)
    for name, value in changes.items():
        if value is _UNSET:
            environment.pop(name, None)
        else:
            environment[name] = str(value)
    json_path = os.path.join(work_dir, f"{label.replace(' ', '_').replace(',', '')}.json")
    command = [sys.executable, "-m", "benchmarks.training_efficiency", "--preset", child_preset, "--json", json_path]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{label}: {' '.join(command)} failed: {completed.stderr.strip().splitlines()[-1:]}")
    with open(json_path, encoding="utf-8") as stream:
        details = json.load(stream)["details"]
    return float(details["images_per_second"])


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    labels = list(variants())
    samples: Dict[str, List[float]] = {label: [] for label in labels}
    for round_index in range(settings.rounds):
        order = labels[round_index % len(labels):] + labels[:round_index % len(labels)]
        for label in order:
            logging.info("Round %d/%d: %s.", round_index + 1, settings.rounds, label)
            samples[label].append(_images_per_second(variants()[label], settings.child_preset, work_dir, label))
    figures = []
    for label in labels[1:]:
        ratios = paired_timing.Spread.of([variant / default for variant, default in
                                          zip(samples[label], samples["default"])])
        figures.append(results.Figure(
            key=label.replace(" ", "_").replace(",", ""), label=f"{label}: training images/s / default",
            value=ratios.median, unit="x",
            spread=(f"{ratios.describe('rounds')}; {paired_timing.Spread.of(samples[label]).median:.1f} vs "
                    f"{paired_timing.Spread.of(samples['default']).median:.1f} images/s")))
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures,
                          {"images_per_second": samples, "variants": {label: {name: value for name, value in
                                                                              changes.items()}
                                                                      for label, changes in variants().items()}})


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
