"""One console line per pipeline component, from LocalDagRunner's own log records.

LocalDagRunner runs components one after another and logs "Component X is running/finished"; following
those records tells the user what is happening during a long run, and which component failed when one does.
"""
import logging
import re
import sys
import time
from typing import Optional, TextIO

_RUNNING = re.compile(r"^Component (?P<node>\S+) is running\.$")
_FINISHED = re.compile(r"^Component (?P<node>\S+) is finished\.$")
_CACHED = re.compile(r"^A cached execution \d+ is used\.$")


class ComponentProgress(logging.Handler):
    """Prints `X running ...` / `X done in 12.3 s (cached)` lines and remembers the component still running."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        super().__init__(level=logging.INFO)
        self._stream = stream
        self.running_component: Optional[str] = None
        self._started = 0.0
        self._cached = False

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if match := _RUNNING.match(message):
            self.running_component = match.group("node")
            self._started = time.monotonic()
            self._cached = False
            self._stream.write(f"  {self.running_component} running ...\n")
            self._stream.flush()
        elif _CACHED.match(message):
            self._cached = True
        elif (match := _FINISHED.match(message)) and match.group("node") == self.running_component:
            note = " (cached)" if self._cached else ""
            self._stream.write(f"  {self.running_component} done in {time.monotonic() - self._started:.1f} s{note}\n")
            self._stream.flush()
            self.running_component = None


def follow_components(stream: TextIO = sys.stdout) -> ComponentProgress:
    """Attaches a ComponentProgress to absl's logger; other INFO records still go nowhere unless verbose."""
    progress = ComponentProgress(stream)
    absl_logger = logging.getLogger("absl")
    absl_logger.addHandler(progress)
    if absl_logger.getEffectiveLevel() > logging.INFO:
        absl_logger.setLevel(logging.INFO)
    return progress
