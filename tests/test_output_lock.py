"""One command per output folder, and an output folder that cannot be one, said in one sentence before any work."""
import itertools
import os
import signal
import socket
import stat
import subprocess
import sys

import pytest

import tmpfs
from cli import main as cli, output_lock
from cli.errors import UserError

# Holds FOLDER in a separate process until killed; prints "held" once it does.
_HOLDER = """
import sys, time
from cli import output_lock
with output_lock.hold_output_folder(sys.argv[1], "gc-tfx run"):
    print("held", flush=True)
    time.sleep(600)
"""


def _start_holder(folder: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, folder], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_folder_held_by_another_process_is_refused_naming_it_and_freed_when_that_process_is_killed(tmp_path):
    folder = str(tmp_path / "output")
    holder = _start_holder(folder)
    try:
        with pytest.raises(UserError) as refusal:
            with output_lock.hold_output_folder(folder, "gc-tfx report"):
                pytest.fail("held a folder another process holds")
        assert str(refusal.value).startswith(
            f"{folder} is in use by `gc-tfx run` (PID {holder.pid} on host {socket.gethostname()}, started ")
        assert "\n" not in str(refusal.value)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with output_lock.hold_output_folder(folder, "gc-tfx run"):  # the kernel let go with the killed process
        with open(os.path.join(folder, output_lock.LOCK_FILE), encoding="utf-8") as lock_file:
            note = output_lock.LockHolder.from_json(lock_file.read())
        assert (note.pid, note.command) == (os.getpid(), "gc-tfx run")


def test_the_note_is_cleared_when_the_command_ends_and_a_missing_folder_is_not_made_for_a_report(tmp_path):
    folder = str(tmp_path / "output")
    with output_lock.hold_output_folder(folder, "gc-tfx run"):
        pass
    assert os.path.getsize(os.path.join(folder, output_lock.LOCK_FILE)) == 0
    missing = str(tmp_path / "missing")
    with output_lock.hold_output_folder(missing, "gc-tfx report", create_folder=False):
        pass
    assert not os.path.exists(missing)


@pytest.mark.parametrize("command", [["run", "--epochs", "1"], ["report"]])
def test_an_output_that_is_a_file_or_lies_under_one_is_one_sentence(command, tmp_path, capsys):
    file = tmp_path / "results.txt"
    file.write_text("not a folder")
    for output, where in ((file, "is a file"), (file / "run", f"lies under {file}, which is a file")):
        assert cli.main([command[0], "--output", str(output), *command[1:]]) == 1
        error = capsys.readouterr().err
        assert error == (f"gc-tfx: error: --output {output} {where}, not a folder; give a new folder or the "
                         "output folder of an earlier run.\n")


def test_an_output_that_cannot_be_written_is_one_sentence(tmp_path, capsys):
    folder = str(tmp_path / "output")
    if os.geteuid() == 0:  # root writes through permission bits: a read-only file system stops it
        with tmpfs.mounted(folder, "1M", read_only=True):
            assert cli.main(["run", "--output", folder, "--epochs", "1"]) == 1
            why = "is on a read-only file system"
    else:
        os.makedirs(folder)
        os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
        assert cli.main(["run", "--output", folder, "--epochs", "1"]) == 1
        why = "is not writable by this user"
    assert capsys.readouterr().err == (
        f"gc-tfx: error: --output {folder} {why}: gc-tfx writes its artifacts, ML Metadata and the pushed model "
        "there; give a folder you can write to.\n")


def _fill_blocks(disk: str) -> None:
    with open(os.path.join(disk, "ballast"), "wb") as ballast:
        while True:
            ballast.write(b"\0" * 4096)
            ballast.flush()


def _fill_inodes(disk: str) -> None:
    for index in itertools.count():
        open(os.path.join(disk, f"empty-{index}"), "wb").close()


@pytest.mark.parametrize("fill", [_fill_blocks, _fill_inodes])  # no room for the lock note / for the folder
def test_a_disk_too_full_to_hold_the_folder_is_the_sentence_about_space(fill, tmp_path, capsys):
    disk = str(tmp_path / "disk")
    with tmpfs.mounted(disk, "64k", inodes=64):
        with pytest.raises(OSError, match="No space left"):
            fill(disk)
        output = os.path.join(disk, "output")
        assert cli.main(["run", "--output", output, "--epochs", "1"]) == 1
    assert capsys.readouterr().err == (f"gc-tfx: error: no space left on the disk holding {output}; free space and "
                                       "rerun the same command to resume.\n")


def test_the_processes_a_command_starts_do_not_inherit_the_lock(tmp_path):
    """Beam's workers are started processes: one left behind by a killed run must not keep the folder held."""
    folder = str(tmp_path / "output")
    open_files = "import os; print([os.path.realpath(f'/proc/self/fd/{fd}') for fd in os.listdir('/proc/self/fd')])"
    with output_lock.hold_output_folder(folder, "gc-tfx run"):
        child = subprocess.run([sys.executable, "-c", open_files], close_fds=False, capture_output=True, text=True,
                               check=True, timeout=60)
    assert os.path.join(os.path.realpath(folder), output_lock.LOCK_FILE) not in child.stdout
