"""One `gc-tfx` command at a time per output folder: `run` and `report` hold OUTPUT/.gc-tfx.lock while they work.

Two runs on one folder both trained every model, then one read the other's unfinished run as its result. The lock
is the kernel's (`flock`), so it dies with the process that holds it, even one killed with SIGKILL: a run that did
not end cleanly never blocks the next. Its descriptor is not inherited by the processes the command starts (Python
opens files non-inheritable), so a Beam worker left behind cannot hold it either. The file also carries a note of
who holds it (PID, host, command, start time), read only to name the holder in the refusal. The file itself is never
removed: removing a lock file while another process waits on it would let two processes hold two different files.
"""
import contextlib
import datetime
import errno
import fcntl
import os
import socket
from typing import Iterator, Optional

from cli.errors import UserError
from results.records import Record

LOCK_FILE = ".gc-tfx.lock"


class LockHolder(Record):
    """Who holds an output folder: the note written into its lock file."""

    pid: int
    host: str
    command: str
    started: str  # local time, ISO 8601 to the second

    def describe(self) -> str:
        return f"`{self.command}` (PID {self.pid} on host {self.host}, started {self.started})"


def _read_holder(descriptor: int) -> Optional[LockHolder]:
    """The note in the lock file, or None while its holder has not written it yet (or wrote something else)."""
    try:
        return LockHolder.from_json(os.pread(descriptor, 4096, 0).decode("utf-8"))
    except ValueError:  # an invalid record, or not UTF-8
        return None


def _file_in_the_way(root: str) -> str:
    """`root` itself when it is a file, else the nearest of its parents that exists (a file, as makedirs failed)."""
    path = os.path.abspath(root)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _unusable_folder(root: str, error: OSError) -> UserError:
    if error.errno in (errno.EEXIST, errno.ENOTDIR):
        file = _file_in_the_way(root)
        where = "is a file" if file == os.path.abspath(root) else f"lies under {file}, which is a file"
        return UserError(f"--output {root} {where}, not a folder; give a new folder or the output folder of an "
                         "earlier run.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "is on a read-only file system" if error.errno == errno.EROFS else "is not writable by this user"
        return UserError(f"--output {root} {why}: gc-tfx writes its artifacts, ML Metadata and the pushed model "
                         "there; give a folder you can write to.")
    return UserError(f"--output {root} cannot be used: {error.strerror or error}.")


def _open_lock_file(root: str, create_folder: bool) -> int:
    try:
        if create_folder:
            os.makedirs(root, exist_ok=True)
        return os.open(os.path.join(root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise  # a full disk, said as such by cli.disk_space
        raise _unusable_folder(root, error) from error


@contextlib.contextmanager
def hold_output_folder(root: str, command: str, *, create_folder: bool = True) -> Iterator[None]:
    """Holds `root` for `command` ("gc-tfx run") until the block ends; raises UserError at once, naming the holder,
    when another process holds it, or when `root` cannot be a writable folder. With `create_folder` False, a
    missing `root` is left missing and not held (nothing there to protect)."""
    if not create_folder and not os.path.lexists(root):
        if not os.path.isdir(_file_in_the_way(root)):  # under a file: said as `run` says it
            raise _unusable_folder(root, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
        yield
        return
    descriptor = _open_lock_file(root, create_folder)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(descriptor)
            who = holder.describe() if holder else "another gc-tfx command that is just starting"
            raise UserError(f"{root} is in use by {who}; one command at a time per output folder: wait for it to "
                            "finish, or give another --output.") from None
        note = LockHolder(pid=os.getpid(), host=socket.gethostname(), command=command,
                          started=datetime.datetime.now().isoformat(timespec="seconds")).to_json().encode("utf-8")
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, note, 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)  # a later refusal never names a process that has finished
    finally:
        os.close(descriptor)
