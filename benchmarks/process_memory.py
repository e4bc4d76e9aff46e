"""Peak resident memory of a process and all its descendants, sampled from /proc (Linux).

A pipeline run spreads over Beam worker processes, so the largest single process (what `getrusage` reports
for children) understates what the machine must hold; the sum over the live process tree, sampled a few times a
second, is the figure that decides whether a run fits in RAM.
"""
import os
import threading
from typing import Dict, List, Optional

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _parent_ids() -> Dict[int, int]:
    """pid -> parent pid of every process we can read; processes that vanish mid-scan are skipped."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
    return parents


def descendants(root: int) -> List[int]:
    """`root` and every process below it."""
    children: Dict[int, List[int]] = {}
    for pid, parent in _parent_ids().items():
        children.setdefault(parent, []).append(pid)
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm_file:
            return int(statm_file.read().split()[1]) * _PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def tree_resident_bytes(root: int) -> int:
    return sum(resident_bytes(pid) for pid in descendants(root))


class PeakTreeMemory:
    """Samples `tree_resident_bytes(pid)` every `interval_seconds` in a thread until `stop()`."""

    def __init__(self, pid: int, interval_seconds: float = 0.5) -> None:
        self._pid = pid
        self._interval = interval_seconds
        self._stopped = threading.Event()
        self.peak_bytes = 0
        self.samples = 0
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "PeakTreeMemory":
        self._thread = threading.Thread(target=self._sample_until_stopped, name="peak-tree-memory", daemon=True)
        self._thread.start()
        return self

    def _sample_until_stopped(self) -> None:
        while not self._stopped.is_set():
            self.peak_bytes = max(self.peak_bytes, tree_resident_bytes(self._pid))
            self.samples += 1
            self._stopped.wait(self._interval)

    def stop(self) -> int:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_bytes
