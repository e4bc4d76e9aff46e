"""A small tmpfs mounted for a test (a full disk, a read-only disk); root only, so tests skip where it is refused."""
import contextlib
import os
import subprocess
from typing import Iterator, List, Optional

import pytest


class MountRefused(Exception):
    """This machine does not let the tests mount a tmpfs (not root, or a container without CAP_SYS_ADMIN)."""


def _mount(arguments: List[str]) -> None:
    try:
        result = subprocess.run(["mount", *arguments], capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as error:  # no mount(8) on this machine
        raise MountRefused(str(error)) from error
    if result.returncode != 0:
        raise MountRefused(f"`mount {' '.join(arguments)}` said: {result.stderr.strip()}")


class Tmpfs:
    """A tmpfs mounted at `path`; `resize` grows (or shrinks) it in place, keeping its files."""

    def __init__(self, path: str, size: str, read_only: bool = False, inodes: Optional[int] = None):
        """`size` as mount(8) takes it ("4608k", "64M"); `inodes` caps the number of files and folders."""
        os.makedirs(path, exist_ok=True)
        options = [f"size={size}", *(["ro"] if read_only else []), *([f"nr_inodes={inodes}"] if inodes else [])]
        _mount(["-t", "tmpfs", "-o", ",".join(options), "tmpfs", path])
        self.path = path

    def resize(self, size: str) -> None:
        _mount(["-o", f"remount,size={size}", self.path])

    def unmount(self) -> None:
        subprocess.run(["umount", "--lazy", self.path], capture_output=True, timeout=30, check=False)


@contextlib.contextmanager
def mounted(path: str, size: str, read_only: bool = False, inodes: Optional[int] = None) -> Iterator[Tmpfs]:
    """A tmpfs at `path` for the block; skips the test where mounting is refused."""
    try:
        disk = Tmpfs(path, size, read_only, inodes)
    except MountRefused as refusal:
        pytest.skip(f"cannot mount a tmpfs here: {refusal}")
    try:
        yield disk
    finally:
        disk.unmount()
