"""A small tmpfs mounted for one test (a full disk, a read-only disk); root only, so tests skip where it is refused."""
import contextlib
import os
import subprocess
from typing import Iterator, List

import pytest


def _mount(arguments: List[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["mount", *arguments], capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as error:  # no mount(8) on this machine
        return subprocess.CompletedProcess(["mount", *arguments], 127, "", str(error))


class Tmpfs:
    """A tmpfs mounted at `path`; `resize` grows (or shrinks) it in place, keeping its files."""

    def __init__(self, path: str):
        self.path = path

    def resize(self, size_mib: int) -> None:
        result = _mount(["-o", f"remount,size={size_mib}M", self.path])
        assert result.returncode == 0, result.stderr


@contextlib.contextmanager
def mounted(path: str, size_mib: int, read_only: bool = False) -> Iterator[Tmpfs]:
    """Mounts a tmpfs of `size_mib` MiB at `path` (created if missing) for the block; skips the test where mounting
    is not permitted (not root, or a container without CAP_SYS_ADMIN)."""
    os.makedirs(path, exist_ok=True)
    options = f"size={size_mib}M" + (",ro" if read_only else "")
    result = _mount(["-t", "tmpfs", "-o", options, "tmpfs", path])
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {result.stderr.strip()}")
    try:
        yield Tmpfs(path)
    finally:
        subprocess.run(["umount", "--lazy", path], capture_output=True, timeout=30, check=False)
