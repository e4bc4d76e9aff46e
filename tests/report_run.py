"""Tiny end-to-end runs for the report tests (test_report.py, test_report_browser.py), made once per session.

The data holds rejected files with hostile names, so every report test also exercises escaping. A second run with
an impossible quality floor reuses the first's cache and pushes nothing. Each run's report is copied aside at
once (the page is self-contained, so the copy renders as the original), because the next run overwrites it.
"""
import dataclasses
import os
import shutil
import subprocess
import sys
from typing import Dict, List

from pipeline import metadata_reader
from pipeline.datasets import synthetic

IMAGE_SIZE = 96
# A path under train/ in a folder named `<script>alert(1)<`: rejected (unknown class folder), listed in rejected.csv.
SCRIPT_REJECTED_PATH = "train/<script>alert(1)</script>.png"
QUOTES_REJECTED_PATH = "test/horses/quote\"&'<b>.png"  # not an image: rejected after reading
HOSTILE_PATHS = (SCRIPT_REJECTED_PATH, QUOTES_REJECTED_PATH)


@dataclasses.dataclass(frozen=True)
class ReportRun:
    """One `gc-tfx run` and what the report tests compare its report with."""

    output: str
    stdout: str
    nodes: Dict[str, metadata_reader.NodeExecution]  # the run's executions, read right after it finished
    report_folder: str  # a copy of OUTPUT/report made right after the run


_runs: Dict[str, ReportRun] = {}


def gc_tfx(*arguments: str) -> subprocess.CompletedProcess:
    """The console script in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *arguments], capture_output=True, text=True,
                          timeout=1200, check=False)


def _write_data(root: str) -> None:
    synthetic.write_synthetic_dataset(root, train_size=60, test_size=16, image_size=IMAGE_SIZE, seed=1)
    for relative_path in HOSTILE_PATHS:
        path = os.path.join(root, *relative_path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as hostile_file:
            hostile_file.write(b"not an image")


def _run(data_root: str, output: str, report_copy: str, quality_floor: float) -> ReportRun:
    result = gc_tfx("run", "--data", data_root, "--output", output, "--epochs", "2", "--batch-size", "8",
                    "--image-size", str(IMAGE_SIZE), "--eval-percent", "20", "--beam-workers", "1",
                    "--quality-floor", str(quality_floor))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    shutil.copytree(os.path.join(output, "report"), report_copy)
    nodes = metadata_reader.latest_run(metadata_reader.open_store(os.path.join(output, "metadata.sqlite")))
    return ReportRun(output=output, stdout=result.stdout, nodes=nodes, report_folder=report_copy)


def pushed_run(tmp_path_factory) -> ReportRun:
    """The run with quality floor 0, so the winner is pushed."""
    if "pushed" not in _runs:
        root = tmp_path_factory.mktemp("report_run")
        _write_data(str(root / "data"))
        _runs["pushed"] = _run(str(root / "data"), str(root / "output"), str(root / "pushed_report"), 0.0)
    return _runs["pushed"]


def nothing_pushed_run(tmp_path_factory) -> ReportRun:
    """The same data and output again with an impossible quality floor: the Evaluator reruns, nothing is pushed."""
    if "nothing pushed" not in _runs:
        first = pushed_run(tmp_path_factory)
        root = os.path.dirname(first.output)
        _runs["nothing pushed"] = _run(os.path.join(root, "data"), first.output,
                                       os.path.join(root, "nothing_pushed_report"), 1.5)
    return _runs["nothing pushed"]


def report_pages(tmp_path_factory) -> List[str]:
    """Both runs' report pages."""
    return [os.path.join(run.report_folder, "index.html")
            for run in (pushed_run(tmp_path_factory), nothing_pushed_run(tmp_path_factory))]
