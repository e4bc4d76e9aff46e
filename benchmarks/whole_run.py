"""`gc-tfx run` from end to end: wall time per component, peak memory, and the run over the Trainers' training.

The data is drawn first (timed apart: `gc-tfx run` without --data would draw it too), then the CLI runs in a
child process exactly as a user runs it, with the cache off. Per-component times come from ML Metadata (each
execution's creation and last update), the Trainers' training time from their own `training_record.json`
(the seconds `fit` spent in its epochs; also the whole `fit` call and the SavedModel export, which split the
rest of a Trainer's time), and peak memory from sampling the child's whole process tree.
"""
import dataclasses
import os
import resource
import subprocess
import sys
import time
from typing import Dict, List, Sequence

from absl import logging

from benchmarks import catalog, command_line, process_memory, results
from datasets import synthetic
from local_runner import OutputLayout
from pipeline.experiment import ExperimentConfig, is_trainer_id
from cli import metadata_reader
from trainer.config import TrainingConfig
from trainer.training_record import TrainingRecord

NAME = "whole_run"
# Issue 16, at the full preset (the default data and epochs): small runs are all fixed costs by design.
RUN_OVER_TRAINING_TARGET = results.Target("<=", 1.15)
TITLE = catalog.TITLES[NAME]
_LOG_TAIL_CHARACTERS = 4000


@dataclasses.dataclass(frozen=True)
class Settings:
    train_images: int
    test_images: int
    image_size: int
    epochs: int
    batch_size: int
    eval_percent: int = ExperimentConfig().eval_percent  # the CLI's default
    seed: int = TrainingConfig().seed
    seeds: int = ExperimentConfig().seed_count


PRESETS = {
    # `gc-tfx run`'s defaults on the default data (1027 train / 256 test at 300 px, 10 epochs, batch 128).
    "full": Settings(train_images=1027, test_images=256, image_size=300, epochs=10, batch_size=128),
    "quick": Settings(train_images=48, test_images=8, image_size=150, epochs=1, batch_size=16, eval_percent=25),
    # Enough images that the hash-carved eval split holds both classes.
    "smoke": Settings(train_images=48, test_images=8, image_size=96, epochs=1, batch_size=8, eval_percent=25),
}


@dataclasses.dataclass(frozen=True)
class CliRun:
    """One `gc-tfx` process: its wall time, memory and console output (stdout and stderr, interleaved)."""

    seconds: float
    peak_tree_mib: float
    largest_process_mib: float  # the largest child process this process ever waited for
    memory_samples: int
    return_code: int
    output: str


def run_cli(arguments: Sequence[str], log_path: str) -> CliRun:
    """Runs `gc-tfx ARGUMENTS` in a child process as a user does, sampling the memory of its process tree."""
    command = [sys.executable, "-m", "cli", *arguments]
    environment = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    logging.info("Running %s", " ".join(command))
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        sampler = process_memory.PeakTreeMemory(process.pid).start()
        return_code = process.wait()
        seconds = time.perf_counter() - started
        peak_tree_bytes = sampler.stop()
    with open(log_path, encoding="utf-8") as log:
        output = log.read()
    # Linux reports ru_maxrss in KiB.
    return CliRun(seconds=seconds, peak_tree_mib=peak_tree_bytes / 2**20,
                  largest_process_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  memory_samples=sampler.samples, return_code=return_code, output=output)


def run_flags(settings: Settings, data_dir: str, output_dir: str) -> List[str]:
    """`gc-tfx run`'s flags for `settings`."""
    return ["run", "--data", data_dir, "--output", output_dir, "--epochs", str(settings.epochs),
            "--batch-size", str(settings.batch_size), "--image-size", str(settings.image_size),
            "--seed", str(settings.seed), "--eval-percent", str(settings.eval_percent),
            "--seeds", str(settings.seeds)]  # Beam: the CLI's default, chosen by the data folder's size


def _component_seconds(nodes: Dict[str, metadata_reader.NodeExecution]) -> Dict[str, float]:
    """Seconds from each execution's registration to its last update (publication), in run order."""
    ordered = sorted(nodes.values(), key=lambda node: node.execution.create_time_since_epoch)
    return {node.node_id: (node.execution.last_update_time_since_epoch - node.execution.create_time_since_epoch)
            / 1000 for node in ordered}


def _training_records(nodes: Dict[str, metadata_reader.NodeExecution]) -> Dict[str, TrainingRecord]:
    """Each Trainer's own training_record.json, found through its `model_run` artifact."""
    return {node_id: TrainingRecord.read_in(node.output("model_run").uri)
            for node_id, node in nodes.items() if is_trainer_id(node_id)}


def _trainer_note(record: TrainingRecord, component_seconds: float) -> str:
    """Where a Trainer's time went: its epochs, Keras between them, the export, and everything else."""
    in_epochs, fit_call, export = sum(record.epoch_seconds), record.fit_seconds, record.export_seconds
    later = record.later_epoch_seconds_mean  # None after a single epoch
    later_text = f"; later {later:.1f} s each" if later is not None else ""
    return (f"epochs {in_epochs:.1f} s (first {record.first_epoch_seconds:.1f} s: decode, tracing{later_text}), "
            f"between epochs {fit_call - in_epochs:.1f} s, "
            f"export {export:.1f} s, the rest {component_seconds - fit_call - export:.1f} s (start-up, reading "
            "the transform graph, building the model)")


def measure(settings: Settings, preset: str, work_dir: str) -> results.BenchmarkResult:
    data_dir = os.path.join(work_dir, "data")
    synthesis = synthetic.write_synthetic_dataset(data_dir, train_size=settings.train_images,
                                                  test_size=settings.test_images, image_size=settings.image_size,
                                                  seed=settings.seed)
    layout = OutputLayout(os.path.join(work_dir, "run"))
    run = run_cli(run_flags(settings, data_dir, layout.root) + ["--no-cache"],
                  os.path.join(work_dir, "gc_tfx_run.log"))
    if run.return_code != 0:
        raise RuntimeError(f"gc-tfx run exited with {run.return_code}; the end of its output:\n"
                           f"{run.output[-_LOG_TAIL_CHARACTERS:]}")
    nodes = metadata_reader.latest_run(metadata_reader.open_store(layout.metadata_path))
    return summarize(settings, preset, nodes, run, synthesis.seconds)


def summarize(settings: Settings, preset: str, nodes: Dict[str, metadata_reader.NodeExecution], run: CliRun,
              synthesis_seconds: float) -> results.BenchmarkResult:
    """The figures and the per-component table of one finished run that trained both models."""
    component_seconds = _component_seconds(nodes)
    records = _training_records(nodes)
    fit_seconds = {trainer_id: sum(record.epoch_seconds) for trainer_id, record in records.items()}
    training_seconds = sum(fit_seconds.values())
    run_over_training = run.seconds / training_seconds
    scope = ("" if preset == "full" else
             f" ({preset}: {settings.train_images}/{settings.test_images} images, {settings.epochs} epochs)")
    figures = [
        results.Figure(key="run_seconds", label=f"wall time of `gc-tfx run`{scope}", value=run.seconds, unit="s",
                       spread=f"data drawn beforehand in {synthesis_seconds:.0f} s (not counted)"),
        results.Figure(key="run_over_training", label="whole run / the Trainers' training (fit) time",
                       value=run_over_training, unit="x",
                       spread=f"{run.seconds:.0f} s / {training_seconds:.0f} s",
                       target=RUN_OVER_TRAINING_TARGET if preset == "full" else None,
                       likely_cause_if_missed=("the fixed costs around training (process start-up and imports, "
                                               "ExampleGen, StatisticsGen, the Evaluator; the table below) weigh more "
                                               "than 15% of the Trainers' fit time.")),
        results.Figure(key="peak_tree_memory", label="peak memory, all processes of the run together",
                       value=run.peak_tree_mib, unit="MiB",
                       spread=f"sampled every 0.5 s ({run.memory_samples} samples); largest single process "
                              f"{run.largest_process_mib:.0f} MiB"),
    ]
    rows: List[List[str]] = []
    for node_id, seconds in component_seconds.items():
        note = ""
        if node_id in records:
            note = _trainer_note(records[node_id], seconds)
        rows.append([node_id, f"{seconds:.1f}", f"{100 * seconds / run.seconds:.0f}%", nodes[node_id].state, note])
    rows.append(["(start-up, between components, summary)", f"{run.seconds - sum(component_seconds.values()):.1f}",
                 f"{100 * (1 - sum(component_seconds.values()) / run.seconds):.0f}%", "", ""])
    table = results.Table(title="Wall time per component (ML Metadata execution start to end)",
                          columns=["component", "seconds", "share of run", "state", "note"], rows=rows)
    details = {"component_seconds": component_seconds, "fit_seconds": fit_seconds,
               "epoch_seconds": {trainer_id: record.epoch_seconds for trainer_id, record in records.items()},
               "synthesis_seconds": synthesis_seconds,
               **{name: value for name, value in dataclasses.asdict(run).items() if name != "output"}}
    return results.finish(NAME, TITLE, __doc__, preset, dataclasses.asdict(settings), figures, details, [table])


if __name__ == "__main__":
    raise SystemExit(command_line.main(__doc__.splitlines()[0], measure, PRESETS))
