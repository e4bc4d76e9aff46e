"""One tiny `gc-tfx run` per test session, shared by the end-to-end, report and browser tests.

The data is what `gc-tfx data fetch` writes from a prepared TFDS horses_or_humans (tests/tfds_fixtures.py), so the
run also proves that the real data's path works end to end. Added to it: every awkward-but-valid image form the
ExampleGen normalises, files it must reject, and rejected files with hostile names (so every report test also
exercises escaping). Two seeds, so four Trainers and two Evaluators. Three runs into one output folder: the
first trains and pushes (quality floor 0); the second, identical, must come from the cache except the selection
(never cached) and the push, and push nothing, as its model ties the serving one; the third changes only the
quality floor to an impossible 1.5: again only the selection and the push rerun and nothing is pushed. Each
run's console output, ML Metadata view and report are captured right after it, because the next run overwrites
the report (the page is self-contained, so its copy renders as the original).
"""
import dataclasses
import os
import shutil
import subprocess
import sys
from typing import Dict, List

import image_fixtures
from benchmarks import whole_run
from datasets import tfds_source
from pipeline import experiment as ids
from trainer.config import METHODS
from cli import metadata_reader

IMAGE_SIZE = 96
SEED = 3
SEEDS = (SEED, SEED + 1)  # two pairs: what `--seeds 2` trains
# The whole_run benchmark's settings type, so its smoke test can summarize this very run.
SETTINGS = whole_run.Settings(train_images=60, test_images=16, image_size=IMAGE_SIZE, epochs=2, batch_size=8,
                              eval_percent=20, seed=SEED, seeds=len(SEEDS))  # Beam: the CLI default, in-process
TRAINER_IDS = {(method, seed): ids.trainer_id(method, seed) for seed in SEEDS for method in METHODS}
EVALUATOR_IDS = {seed: ids.evaluator_id(seed) for seed in SEEDS}
EXPECTED_NODES = frozenset({ids.EXAMPLE_GEN_ID, ids.STATISTICS_GEN_ID, ids.SCHEMA_GEN_ID, ids.EXAMPLE_VALIDATOR_ID,
                            ids.VALIDATION_GATE_ID, ids.TRANSFORM_ID, *TRAINER_IDS.values(), *EVALUATOR_IDS.values(),
                            ids.MODEL_SELECTION_ID, ids.PUSHER_ID, ids.REVIEW_ID})
# What a second run must rerun although nothing upstream changed: the selection (what serves may have changed),
# then what consumes its new outputs.
RERUN_NODES = frozenset({ids.MODEL_SELECTION_ID, ids.PUSHER_ID, ids.REVIEW_ID})

# Files the ExampleGen must reject, with the reason it cannot read them.
BAD_FILES = {
    "train/horses/truncated.png": image_fixtures.truncated(image_fixtures.rgb_png((1, 2, 3), size=(64, 64))),
    "train/humans/empty.jpg": b"",
    "test/horses/notes.png": b"this is not an image\n",
}
# A path under train/ in a folder named `<script>alert(1)<`: rejected (unknown class folder), listed in rejected.csv.
SCRIPT_REJECTED_PATH = "train/<script>alert(1)</script>.png"
QUOTES_REJECTED_PATH = "test/horses/quote\"&'<b>.png"  # not an image: rejected after reading
HOSTILE_PATHS = (SCRIPT_REJECTED_PATH, QUOTES_REJECTED_PATH)
REJECTED_PATHS = frozenset(BAD_FILES) | frozenset(HOSTILE_PATHS)
# Every valid-but-awkward form the ExampleGen normalises (grayscale, 16-bit, RGBA, palette, CMYK, upper-case
# extensions, tiny, very large, GIF, BMP), spread over both splits and classes.
AWKWARD_FILES = {
    f"{('train', 'test')[index % 2]}/{('horses', 'humans')[index // 2 % 2]}/awkward_{case.file_name}": case.data
    for index, case in enumerate(image_fixtures.awkward_images().values())
}


@dataclasses.dataclass(frozen=True)
class Run:
    """One `gc-tfx run` and what tests compare with it."""

    output: str
    process: whole_run.CliRun  # wall time, memory, and the console (stdout and stderr as the user sees them)
    nodes: Dict[str, metadata_reader.NodeExecution]  # the run's executions, read right after it finished
    report_folder: str  # a copy of OUTPUT/report made right after the run

    @property
    def console(self) -> str:
        return self.process.output

    @property
    def report_page(self) -> str:
        return os.path.join(self.report_folder, "index.html")


def gc_tfx(*arguments: str) -> subprocess.CompletedProcess:
    """The command in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "cli", *arguments], capture_output=True, text=True, timeout=1200,
                          check=False)


def write_data(root: str, tfds_data_dir: str) -> None:
    """The real data's path into the pipeline (TFDS -> the folder layout), then the files that test ingestion."""
    tfds_source.fetch_horses_or_humans(root, tfds_data_dir=tfds_data_dir)
    for relative_path, data in {**BAD_FILES, **AWKWARD_FILES}.items():
        image_fixtures.write_file(os.path.join(root, relative_path), data)
    for relative_path in HOSTILE_PATHS:
        image_fixtures.write_file(os.path.join(root, *relative_path.split("/")), b"not an image")


def image_files(data_root: str) -> List[str]:
    """Every file under train/ and test/, as data-relative posix paths."""
    return [os.path.relpath(os.path.join(folder, name), data_root).replace(os.sep, "/")
            for folder, _, names in os.walk(data_root) for name in names
            if os.path.relpath(folder, data_root).split(os.sep)[0] in ("train", "test")]


def run(data_root: str, output: str, report_copy: str, quality_floor: float) -> Run:
    process = whole_run.run_cli(whole_run.run_flags(SETTINGS, data_root, output) + [
        "--quality-floor", str(quality_floor)], f"{report_copy}.log")
    assert process.return_code == 0, process.output[-8000:]
    shutil.copytree(os.path.join(output, "report"), report_copy)
    nodes = metadata_reader.latest_run(metadata_reader.open_store(os.path.join(output, "metadata.sqlite")))
    return Run(output=output, process=process, nodes=nodes, report_folder=report_copy)
