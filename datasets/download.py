"""The real Horses-or-Humans data: the two official zips, verified by size and SHA-256, extracted into the layout.

Each zip is downloaded to a temporary file inside the output folder, verified, extracted into a temporary folder
and moved into place with one rename; only then does the marker record the split as verified. An interrupted
run therefore leaves nothing a later run trusts, and a rerun after success downloads nothing.
"""
import dataclasses
import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, TextIO, Tuple

from absl import logging

from datasets import archive as archive_extraction
from datasets import layout

# The host tensorflow-datasets downloads from; the checksums below were recorded for these URLs.
DEFAULT_BASE_URL = "https://storage.googleapis.com/download.tensorflow.org/data"
BASE_URL_ENV_VAR = "GC_TFX_DATA_URL"
SOURCE = "fetch"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60.0

ProgressCallback = Callable[[str, int, int], None]  # (file name, bytes so far, bytes expected)


@dataclasses.dataclass(frozen=True)
class RemoteArchive:
    """One zip to fetch: the split it fills, its file name under the base URL, its size in bytes and SHA-256."""

    split: str
    file_name: str
    size: int
    sha256: str

    def __post_init__(self) -> None:
        if self.split not in layout.SPLITS:
            raise ValueError(f"{self.file_name}: unknown split {self.split!r}; expected one of {layout.SPLITS}.")
        if self.size <= 0:
            raise ValueError(f"{self.file_name}: the expected size must be positive, got {self.size}.")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"{self.file_name}: {self.sha256!r} is not a lower-case SHA-256 hex digest.")


# Sizes and SHA-256 digests from tensorflow-datasets 4.9.10, tensorflow_datasets/url_checksums/horses_or_humans.txt
# (the files its `horses_or_humans` builder downloads from DEFAULT_BASE_URL).
OFFICIAL_ARCHIVES: Tuple[RemoteArchive, ...] = (
    RemoteArchive("train", "horse-or-human.zip", 149574867,
                  "e2e6f70d3d549c5dd10a57165e55af253ee66ad750403f95c0fb76bb943633a9"),
    RemoteArchive("test", "validation-horse-or-human.zip", 11480187,
                  "ae5fff2f4f5554791f05358108e2e05d9801b191f1896ea101402f0e7f6c32c0"),
)


class DownloadError(OSError):
    """The server could not be reached, refused the request, or the connection broke mid-download."""


class ChecksumMismatchError(ValueError):
    """The downloaded bytes are not the file the checksums describe."""


@dataclasses.dataclass(frozen=True)
class FetchSummary:
    """What `fetch_horses_or_humans` left in `out`: the splits downloaded by this call and counts[split][class]."""

    out: Path
    fetched_splits: Tuple[str, ...]
    counts: Dict[str, Dict[str, int]]


class StderrProgress:
    """Download progress for people: one updating line on a terminal, an occasional line in a log file."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._interactive = stream.isatty()
        self._interval_seconds = 0.25 if self._interactive else 15.0
        self._last_report = float("-inf")

    def __call__(self, file_name: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last_report < self._interval_seconds:
            return
        self._last_report = now
        line = f"Downloading {file_name}: {done / 2**20:.1f} of {total / 2**20:.1f} MiB ({100 * done // total}%)"
        ending = "\n" if finished or not self._interactive else ""
        self._stream.write(("\r" if self._interactive else "") + line + ending)
        self._stream.flush()


def resolve_base_url(base_url: Optional[str] = None) -> str:
    """`base_url`, else the GC_TFX_DATA_URL environment variable, else the official host; no trailing slash."""
    return (base_url or os.environ.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL).rstrip("/")


def download_verified(url: str, destination: Path, expected: RemoteArchive,
                      progress: Optional[ProgressCallback] = None) -> None:
    """Streams `url` into `destination` while hashing it; on any failure `destination` is removed.

    Raises DownloadError for network trouble (including a connection closed before `expected.size` bytes) and
    ChecksumMismatchError when the size or SHA-256 differs from `expected`.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "gc-tfx"})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"Downloading {url} failed: HTTP {error.code} {error.reason}.") from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"Cannot download {url}: {reason}. Check the network (or {BASE_URL_ENV_VAR}) and "
                            "rerun.") from error
    finished = False
    try:
        with response:
            announced = response.headers.get("Content-Length")
            if announced is not None and announced.isdigit() and int(announced) != expected.size:
                raise ChecksumMismatchError(
                    f"{url} is {announced} bytes, but {expected.file_name} should be {expected.size} bytes.")
            digest, received = _stream_to_file(url, response, destination, expected, progress)
        if received < expected.size:
            raise DownloadError(f"The connection to {url} closed after {received} of {expected.size} bytes; "
                                "rerun to start the download again.")
        if digest != expected.sha256:
            raise ChecksumMismatchError(
                f"{url} has SHA-256 {digest}, but {expected.file_name} should have {expected.sha256}; "
                "the file was changed or corrupted, so it was deleted.")
        finished = True
    finally:
        if not finished:
            destination.unlink(missing_ok=True)


def _stream_to_file(url: str, response: http.client.HTTPResponse, destination: Path, expected: RemoteArchive,
                    progress: Optional[ProgressCallback]) -> Tuple[str, int]:
    """Copies the body to `destination`; returns (SHA-256 hex digest, bytes received)."""
    digest = hashlib.sha256()
    received = 0
    with open(destination, "wb") as target:
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as error:
                raise DownloadError(f"The download of {url} broke after {received} of {expected.size} bytes: "
                                    f"{error}; rerun to start it again.") from error
            if not chunk:
                break
            received += len(chunk)
            if received > expected.size:
                raise ChecksumMismatchError(
                    f"{url} sent more than the {expected.size} bytes that {expected.file_name} should have.")
            digest.update(chunk)
            target.write(chunk)
            if progress:
                progress(expected.file_name, received, expected.size)
    return digest.hexdigest(), received


def fetch_horses_or_humans(out: os.PathLike, base_url: Optional[str] = None,
                           archives: Sequence[RemoteArchive] = OFFICIAL_ARCHIVES,
                           progress: Optional[ProgressCallback] = None) -> FetchSummary:
    """Fills `out/{train,test}/{horses,humans}/` from the zips, skipping splits already verified there.

    `base_url` defaults as in `resolve_base_url`; `archives` carries the expected sizes and checksums (tests pass
    their own). Raises layout.OutputFolderError when `out` holds other data, DownloadError,
    ChecksumMismatchError, and archive.UnsafeArchiveError for a zip that tries to write outside its folder.
    """
    root_url = resolve_base_url(base_url)
    with layout.claimed_output_folder(out, SOURCE) as folder:
        verified: Dict[str, str] = dict((folder.marker or {}).get("verified", {}))
        fetched = []
        for remote in archives:
            if verified.get(remote.split) == remote.sha256 and (folder.path / remote.split).is_dir():
                logging.info("%s/%s is already verified; skipping %s.", folder.path, remote.split, remote.file_name)
                continue
            verified.pop(remote.split, None)
            zip_path = layout.temporary_path(folder.path, f"{remote.file_name}.part")
            download_verified(f"{root_url}/{remote.file_name}", zip_path, remote, progress)
            staging = layout.temporary_path(folder.path, f"extract-{remote.split}")
            counts = archive_extraction.extract_class_folders(zip_path, staging)
            zip_path.unlink()
            # The marker claims the folder before the split appears in it, and trusts the split only afterwards.
            layout.write_marker(folder.path, {"source": SOURCE, "verified": verified})
            layout.publish_split(staging, folder.path, remote.split)
            verified[remote.split] = remote.sha256
            layout.write_marker(folder.path, {"source": SOURCE, "verified": verified})
            logging.info("Verified %s and extracted %s into %s/%s.", remote.file_name, counts, folder.path,
                         remote.split)
            fetched.append(remote.split)
        return FetchSummary(folder.path, tuple(fetched), layout.count_images(folder.path))


def describe(summary: FetchSummary) -> str:
    """The one-line summary the CLI prints."""
    per_split = layout.describe_counts(summary.counts)
    if not summary.fetched_splits:
        return f"{summary.out} already holds the verified Horses-or-Humans data ({per_split}); nothing to do."
    return (f"Downloaded and verified {', '.join(summary.fetched_splits)}; {summary.out} holds {per_split}.")
