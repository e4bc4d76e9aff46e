"""Lists every file under the data folder and fingerprints the folder's content.

Both use `tfx.dsl.io.fileio`, so a `gs://` data folder works the same as a local one.
"""
import hashlib
import posixpath
from typing import List

from tfx.dsl.io import fileio

_READ_CHUNK_BYTES = 1 << 20


def _normalized_root(input_base: str) -> str:
    return input_base.rstrip("/")


def list_relative_paths(input_base: str) -> List[str]:
    """Sorted posix paths, relative to `input_base`, of every file below it (hidden ones included)."""
    root = _normalized_root(input_base)
    if not fileio.isdir(root):
        raise ValueError(f"Data folder {input_base!r} does not exist or is not a folder.")
    paths = []
    for directory, _, file_names in fileio.walk(root):
        relative_directory = str(directory).rstrip("/")[len(root):].strip("/")
        for file_name in file_names:
            paths.append(posixpath.join(relative_directory, str(file_name).rstrip("/")))
    return sorted(paths)


def _content_digest(path: str) -> str:
    digest = hashlib.sha256()
    with fileio.open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_READ_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_folder(input_base: str) -> str:
    """A digest of every file's relative path and content, for the cache key of the ExampleGen.

    Contents are hashed rather than sizes and modification times because local `fileio.stat` has one-second
    resolution: a file rewritten with the same size within that second would otherwise look unchanged.
    Reading the folder costs about a second per few hundred MB locally, small beside ingesting it.
    """
    root = _normalized_root(input_base)
    folder_digest = hashlib.sha256()
    paths = list_relative_paths(root)
    for relative_path in paths:
        folder_digest.update(f"{relative_path}\0{_content_digest(posixpath.join(root, relative_path))}\n"
                             .encode("utf-8"))
    return f"files:{len(paths)},sha256:{folder_digest.hexdigest()}"
