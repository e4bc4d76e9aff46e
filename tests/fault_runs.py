"""`gc-tfx` processes started, watched and killed as a user (or a crash) would, for the fault tests.

Each command runs in its own session with stdout and stderr in files, so a test can wait for a line of its console
and kill its whole process group. The tiniest settings the CNN accepts keep each run to fixed costs.
"""
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

from cli import metadata_reader, output_lock
from pipeline import experiment as ids
from trainer.config import METHODS

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_IMAGES_PER_CLASS = 6
TEST_IMAGES_PER_CLASS = 2
SEED = 42
# The first pipeline nodes, which a resumed run must take from the cache.
UPSTREAM_NODES = (ids.EXAMPLE_GEN_ID, ids.STATISTICS_GEN_ID, ids.SCHEMA_GEN_ID, ids.EXAMPLE_VALIDATOR_ID,
                  ids.VALIDATION_GATE_ID, ids.TRANSFORM_ID)
NODES = frozenset({*UPSTREAM_NODES, *(ids.trainer_id(method, SEED) for method in METHODS), ids.evaluator_id(SEED),
                   ids.MODEL_SELECTION_ID, ids.PUSHER_ID, ids.REVIEW_ID})
# The end of a Trainer's epoch on the console: "    gc seed 42: epoch 1/1, loss ...".
EPOCH_LINE = re.compile(r"^    (?P<method>gc|baseline) seed (?P<seed>\d+): epoch 1/1,", re.MULTILINE)
_POLL_SECONDS = 0.2


def run_flags(data: str, output: str) -> List[str]:
    """`gc-tfx run` at the smallest size the CNN takes: one pair, one epoch; half of train/ is the eval split."""
    return ["run", "--data", data, "--output", output, "--epochs", "1", "--batch-size", "8", "--image-size", "94",
            "--eval-percent", "50", "--seeds", "1", "--seed", str(SEED)]


@dataclasses.dataclass(frozen=True)
class Finished:
    """A `gc-tfx` process that has ended, and what its user saw."""

    pid: int
    return_code: int
    stdout: str
    stderr: str
    seconds: float


class Command:
    """One `gc-tfx` process, started in its own session with its console in `log_prefix`.out and .err."""

    def __init__(self, arguments: List[str], log_prefix: str, *, cwd: Optional[str] = None,
                 environment: Optional[Dict[str, str]] = None):
        self._paths = (f"{log_prefix}.out", f"{log_prefix}.err")
        self._started = time.monotonic()
        # As a user's shell has it: without the quieter TensorFlow logging pytest's conftest.py sets.
        environment = {key: value for key, value in (environment or os.environ).items()
                       if key != "TF_CPP_MIN_LOG_LEVEL"}
        with open(self._paths[0], "w") as stdout, open(self._paths[1], "w") as stderr:
            self.process = subprocess.Popen([sys.executable, "-m", "cli", *arguments], stdout=stdout,
                                            stderr=stderr, cwd=cwd, env=environment, start_new_session=True)

    def stdout(self) -> str:
        with open(self._paths[0], encoding="utf-8", errors="replace") as stream:
            return stream.read()

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Returns once `condition()` holds; fails if the process ends or `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"gc-tfx ended before {what}:\n{self.stdout()[-4000:]}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.stdout()[-4000:]}"
            time.sleep(_POLL_SECONDS)

    def kill(self) -> None:
        """SIGKILL to the command and every process it started (its session's process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)

    def finish(self, timeout: float = 900) -> Finished:
        return_code = self.process.wait(timeout=timeout)
        with open(self._paths[1], encoding="utf-8", errors="replace") as stderr:
            return Finished(pid=self.process.pid, return_code=return_code, stdout=self.stdout(),
                            stderr=stderr.read(), seconds=time.monotonic() - self._started)


def gc_tfx(arguments: List[str], log_prefix: str, **options) -> Finished:
    """A `gc-tfx` command to its end."""
    return Command(arguments, log_prefix, **options).finish()


def holder_pid(output: str) -> Optional[int]:
    """The PID in the output folder's lock note, None while there is none."""
    try:
        with open(os.path.join(output, output_lock.LOCK_FILE), encoding="utf-8") as note:
            return json.loads(note.read())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def latest_states(output: str) -> Dict[str, str]:
    """Node id -> execution state (COMPLETE, CACHED, RUNNING, ...) of the latest run in ML Metadata."""
    store = metadata_reader.open_store(os.path.join(output, "metadata.sqlite"))
    return {node_id: node.state for node_id, node in metadata_reader.latest_run(store).items()}


def _git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True, timeout=120).stdout


def clone_working_tree(destination: str) -> None:
    """A `git clone` of this repository at `destination`, with the working tree's uncommitted changes copied over,
    so the clone runs the code under test (a clone alone would run the last commit)."""
    _git("clone", "--quiet", "--no-hardlinks", REPOSITORY, destination)
    changed = _git("-C", REPOSITORY, "ls-files", "--modified", "--others", "--exclude-standard", "-z").split("\0")
    for relative_path in filter(None, changed):
        source, copy = os.path.join(REPOSITORY, relative_path), os.path.join(destination, relative_path)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            shutil.copy2(source, copy)
        elif os.path.lexists(copy):  # deleted in the working tree
            os.remove(copy)
