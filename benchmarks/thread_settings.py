"""Thread, oneDNN and allocator settings: does any beat TensorFlow's defaults for the Trainer's step here?

Each setting must be in the environment before TensorFlow starts, so every measurement is a fresh process (this
module with `--child`) timing the Trainer's compiled model, `train_on_batch` on an in-memory batch of the Trainer's
batch size (128) at its image size (300 px) in the full preset: the first session measured at batch 32 only, where
one inter-op thread looked 1.32x faster; at batch 128 a later machine showed no gain. Each round runs the default
and every variant once, in an order that rotates between rounds, and each variant is reported as its training
images/s over the default's in the same round (median over rounds), with a verdict: faster or slower only when
three quarters of the rounds agree by 2% or more. Two rounds of four steps were once read as a 1.25x gain on a
machine where four more rounds showed none, hence four rounds of six.

Variants: one inter-op thread with intra-op threads = cores (TensorFlow's default lets both pools use every core,
which can oversubscribe two cores); oneDNN off (`TF_ENABLE_ONEDNN_OPTS=0`: Eigen's kernels); glibc's malloc
instead of tcmalloc (the allocator `gc-tfx run`, the image and `make bench` use; the default here is whatever
the benchmark process runs with, tcmalloc under `make bench` when it is installed).
"""
import argparse
import dataclasses
import json
import os
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from absl import logging

from benchmarks import catalog, command_line, paired_timing, results
from trainer.config import BASELINE

NAME = "thread_settings"
TITLE = catalog.TITLES[NAME]
_UNSET = None  # a variable the variant removes from the environment


@dataclasses.dataclass(frozen=True)
class Settings:
    rounds: int
    batch_size: int  # what each child process trains on
    image_size: int
    steps: int  # timed training steps per child, after one untimed
    seed: int = 42


PRESETS = {
    "full": Settings(rounds=4, batch_size=128, image_size=300, steps=6),  # the Trainer's batch and images
    "quick": Settings(rounds=1, batch_size=2, image_size=96, steps=1),  # bench-quick checks the plumbing only
    "smoke": Settings(rounds=1, batch_size=2, image_size=96, steps=1),
}


def variants() -> Dict[str, Dict[str, object]]:
    cores = str(os.cpu_count() or 1)
    return {
        "default": {},
        f"inter-op 1, intra-op {cores}": {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": cores},
        "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
        "glibc malloc": {"LD_PRELOAD": _UNSET, "GC_TFX_ALLOCATOR": "glibc"},
    }


def child_images_per_second(batch_size: int, image_size: int, steps: int, seed: int) -> float:
    """In this (fresh) process: the Trainer's model, one untimed step, then `steps` timed ones."""
    from benchmarks import models

    model = models.trainer_model(method=BASELINE, image_size=image_size, seed=seed)
    images, labels = models.fixed_batch(batch_size, image_size, seed)
    model.train_on_batch(images, labels)  # trace, and let oneDNN pick its kernels
    seconds = paired_timing.seconds_of(lambda: [model.train_on_batch(images, labels) for _ in range(steps)])
    return batch_size * steps / seconds


def _images_per_second(changes: Dict[str, object], settings: Settings, work_dir: str, label: str) -> float:
    environment = dict(os.environ)
    for name, value in changes.items():
        if value is _UNSET:
            environment.pop(name, None)
        else:
            environment[name] = str(value)
    json_path = os.path.join(work_dir, f"{label.replace(' ', '_').replace(',', '')}.json")
    command = [sys.executable, "-m", "benchmarks.thread_settings", "--child", "--json", json_path,
               *(f"--{name.replace('_', '-')}={getattr(settings, name)}"
                 for name in ("batch_size", "image_size", "steps", "seed"))]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{label}: {' '.join(command)} failed: {completed.stderr.strip().splitlines()[-1:]}")
    with open(json_path, encoding="utf-8") as stream:
        return float(json.load(stream)["images_per_second"])


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    labels = list(variants())
    samples: Dict[str, List[float]] = {label: [] for label in labels}
    for round_index in range(settings.rounds):
        order = labels[round_index % len(labels):] + labels[:round_index % len(labels)]
        for label in order:
            logging.info("Round %d/%d: %s.", round_index + 1, settings.rounds, label)
            samples[label].append(_images_per_second(variants()[label], settings, work_dir, label))
    figures = []
    for label in labels[1:]:
        ratios = paired_timing.Spread.of([variant / default for variant, default in
                                          zip(samples[label], samples["default"])])
        figures.append(results.Figure(
            key=label.replace(" ", "_").replace(",", ""), label=f"{label}: training images/s / default",
            value=ratios.median, unit="x",
            spread=(f"{ratios.describe('rounds')}: {paired_timing.speed_verdict(ratios, higher_is_faster=True)}; "
                    f"{paired_timing.Spread.of(samples[label]).median:.1f} vs "
                    f"{paired_timing.Spread.of(samples['default']).median:.1f} images/s")))
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures,
                          {"images_per_second": samples, "variants": {label: {name: value for name, value in
                                                                              changes.items()}
                                                                      for label, changes in variants().items()}})


def child_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="One measurement of the thread-settings benchmark.")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--json", required=True)
    for name in ("batch-size", "image-size", "steps", "seed"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    with open(args.json, "w", encoding="utf-8") as stream:
        json.dump({"images_per_second": child_images_per_second(args.batch_size, args.image_size, args.steps,
                                                                args.seed)}, stream)
    return 0


if __name__ == "__main__":
    if "--child" in sys.argv[1:]:
        raise SystemExit(child_main())
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
