"""Lists every file under the data folder and fingerprints the folder's content.

Both use `tfx.dsl.io.fileio`, so a `gs://` data folder works the same as a local one. One rule for both: a folder
reached through a symbolic link is never entered. Folder links exist only on local disks, where `fileio.walk`
(TensorFlow's) enters every one: a `loop -> ..` in each class folder made the paths multiply at every level until
the machine ran out of memory. Not entering them bounds the listing by the files the folder really holds, and keeps
an image from being ingested twice (or into two splits) through a link to a sibling folder. Such links, and every
other entry that cannot be read as a file (a broken link, a FIFO, a device), are listed with the reason instead.
"""
import dataclasses
import hashlib
import os
import posixpath
import stat
from typing import List, NamedTuple, Optional

from tfx.dsl.io import fileio

_READ_CHUNK_BYTES = 1 << 20


class UnreadableEntry(NamedTuple):
    """An entry of the data folder that is neither entered nor read: its posix path relative to the folder, and why."""

    path: str
    reason: str


@dataclasses.dataclass(frozen=True)
class FolderListing:
    """What is below a data folder: `files` to place and read (links to files included), `unreadable` to list."""

    files: List[str]  # sorted posix paths relative to the folder, hidden ones included
    unreadable: List[UnreadableEntry]  # sorted by path


def _normalized_root(input_base: str) -> str:
    return input_base.rstrip("/")


def _is_local(root: str) -> bool:
    return "://" not in root


def _local_unreadable_reason(path: str) -> Optional[str]:
    """Why a local entry is not walked or read as a file, or None for a folder, a file, or a link to a file."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
        target = os.readlink(path) if is_link else ""
        mode = os.stat(path).st_mode
    except OSError:  # os.stat follows links: a dangling one, or a chain of links that loops
        return f"broken link (-> {target}): it leads to nothing that can be opened"
    if stat.S_ISDIR(mode):
        if not is_link:
            return None
        resolved, parent = os.path.realpath(path), os.path.realpath(os.path.dirname(path))
        if parent == resolved or parent.startswith(resolved.rstrip(os.sep) + os.sep):
            return f"link to a folder above it (-> {target}), a loop: links to folders are not followed"
        return (f"link to a folder (-> {target}): links to folders are not followed; copy the folder or link "
                "its files instead")
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device): reading it could block or never end"
    return None


def list_folder(input_base: str) -> FolderListing:
    """Every entry below `input_base`, walked without entering folder links; raises ValueError if it is no folder."""
    root = _normalized_root(input_base)
    if not fileio.isdir(root):
        raise ValueError(f"Data folder {input_base!r} does not exist or is not a folder.")
    local = _is_local(root)
    files: List[str] = []
    unreadable: List[UnreadableEntry] = []
    pending = [""]  # relative folders still to list; a stack, so memory follows the folder's size, not its depth
    while pending:
        relative_folder = pending.pop()
        folder = posixpath.join(root, relative_folder) if relative_folder else root
        for name in fileio.listdir(folder):
            name = str(name).rstrip("/")  # object stores mark folders with a trailing slash
            relative_path = posixpath.join(relative_folder, name) if relative_folder else name
            path = posixpath.join(folder, name)
            reason = _local_unreadable_reason(path) if local else None
            if reason is not None:
                unreadable.append(UnreadableEntry(relative_path, reason))
            elif fileio.isdir(path):
                pending.append(relative_path)
            else:
                files.append(relative_path)
    return FolderListing(files=sorted(files), unreadable=sorted(unreadable))


def _content_digest(path: str) -> str:
    digest = hashlib.sha256()
    with fileio.open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_READ_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_folder(input_base: str) -> str:
    """A digest of every file's relative path and content, and of every unreadable entry, for the ExampleGen's cache
    key (each one is an example or a row of rejected.csv).

    Contents are hashed rather than sizes and modification times because local `fileio.stat` has one-second
    resolution: a file rewritten with the same size within that second would otherwise look unchanged.
    Reading the folder costs about a second per few hundred MB locally, small beside ingesting it.
    """
    root = _normalized_root(input_base)
    folder_digest = hashlib.sha256()
    listing = list_folder(root)
    for relative_path in listing.files:
        folder_digest.update(f"{relative_path}\0{_content_digest(posixpath.join(root, relative_path))}\n"
                             .encode("utf-8"))
    for entry in listing.unreadable:
        folder_digest.update(f"{entry.path}\0unreadable\0{entry.reason}\n".encode("utf-8"))
    # Without unreadable entries the fingerprint is spelled as before they were listed, so earlier caches stay valid.
    unreadable = f"unreadable:{len(listing.unreadable)}," if listing.unreadable else ""
    return f"files:{len(listing.files)},{unreadable}sha256:{folder_digest.hexdigest()}"
