"""Writes a run's review files into a folder: `index.html` (the page) and `summary.json` (RunResults as JSON).

Both are written to a temporary name and renamed, so a reader (or a browser reloading) never sees half a report,
and a failed build leaves the previous report intact.
"""
import dataclasses
import os

from absl import logging

from report import page
from report.run_results import RunResults

PAGE_FILE = "index.html"
SUMMARY_FILE = RunResults.FILE_NAME


@dataclasses.dataclass(frozen=True)
class ReportFiles:
    """Where the report was written (absolute paths)."""

    page: str
    summary: str


def _write_atomically(path: str, text: str) -> None:
    temporary_path = f"{path}.tmp-{os.getpid()}"
    with open(temporary_path, "w", encoding="utf-8") as output:
        output.write(text)
    os.replace(temporary_path, path)


def write_report(results: RunResults, folder: str) -> ReportFiles:
    """Writes the page and the summary of `results` into `folder` (created when missing)."""
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    files = ReportFiles(page=os.path.join(folder, PAGE_FILE), summary=os.path.join(folder, SUMMARY_FILE))
    _write_atomically(files.summary, results.to_json())
    _write_atomically(files.page, page.render(results))
    logging.info("Report written to %s", files.page)
    return files
