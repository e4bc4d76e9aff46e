"""`build_report(output_root)`: reads the latest run and writes OUTPUT/report/index.html and summary.json.

Both files are written to a temporary name and renamed, so a reader (or a browser reloading) never sees half a
report, and a failed build leaves the previous report intact.
"""
import dataclasses
import json
import os

from absl import logging

from report import html_page, summary_json
from report.report_data import load_report_data
from report.run_artifacts import ReportError  # re-exported: the one error callers handle

REPORT_FOLDER = "report"
PAGE_FILE = "index.html"
SUMMARY_FILE = "summary.json"

__all__ = ["ReportError", "ReportFiles", "build_report"]


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


def build_report(output_root: str) -> ReportFiles:
    """Writes the report of the latest run under `output_root`; raises ReportError when there is none."""
    data = load_report_data(output_root)
    folder = os.path.join(os.path.abspath(output_root), REPORT_FOLDER)
    os.makedirs(folder, exist_ok=True)
    files = ReportFiles(page=os.path.join(folder, PAGE_FILE), summary=os.path.join(folder, SUMMARY_FILE))
    _write_atomically(files.summary,
                      json.dumps(summary_json.build_summary(data), indent=2, allow_nan=False) + "\n")
    _write_atomically(files.page, html_page.render(data))
    logging.info("Report written to %s", files.page)
    return files
