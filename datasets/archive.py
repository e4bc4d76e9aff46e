"""Safe extraction of a Horses-or-Humans zip into `{horses,humans}/` folders.

Every entry is checked before anything is written: an archive with an absolute path, a `..` component, a symbolic
link or another special file is rejected as a whole. Files are written to names we build from the class folder
and the base name, never to the path the archive suggests.
"""
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Dict, List, Tuple

from absl import logging

from trainer.features import CLASS_NAMES


class UnsafeArchiveError(ValueError):
    """The archive names a file outside the extraction folder, or holds a link or device."""


def _check_entry(archive_path: Path, entry: zipfile.ZipInfo) -> None:
    name = entry.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive_path} contains the absolute path {entry.filename!r}; refusing to extract.")
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive_path} contains {entry.filename!r}, which leaves the extraction folder; "
                                 "refusing to extract.")
    file_type = stat.S_IFMT(entry.external_attr >> 16)
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "a symbolic link" if file_type == stat.S_IFLNK else "a special file"
        raise UnsafeArchiveError(f"{archive_path} entry {entry.filename!r} is {kind}; refusing to extract.")


def _class_member(entry: zipfile.ZipInfo) -> Tuple[str, str]:
    """(class_name, file_name) for `horses/x.png` or `humans/x.png`; ("", "") for anything else."""
    parts = PurePosixPath(entry.filename.replace("\\", "/")).parts
    if entry.is_dir() or len(parts) != 2 or parts[0] not in CLASS_NAMES or parts[1].startswith("."):
        return "", ""
    return parts[0], parts[1]


def extract_class_folders(archive_path: Path, destination: Path) -> Dict[str, int]:
    """Extracts `horses/*` and `humans/*` of the zip into `destination/{horses,humans}/`; returns files per class.

    Other entries (macOS metadata, read-me files) are skipped. Raises UnsafeArchiveError for a dangerous entry
    and ValueError when a class folder is missing or the file is not a zip.
    """
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile as error:
        raise ValueError(f"{archive_path} is not a valid zip archive: {error}") from error
    with archive:
        entries = archive.infolist()
        for entry in entries:
            _check_entry(archive_path, entry)
        members: List[Tuple[zipfile.ZipInfo, str, str]] = []
        for entry in entries:
            class_name, file_name = _class_member(entry)
            if class_name:
                members.append((entry, class_name, file_name))
        counts = {class_name: sum(1 for _, name, _ in members if name == class_name) for class_name in CLASS_NAMES}
        missing = [class_name for class_name, count in counts.items() if count == 0]
        if missing:
            raise ValueError(f"{archive_path} has no files under {', '.join(name + '/' for name in missing)}; "
                             f"expected the Horses-or-Humans layout {', '.join(n + '/' for n in CLASS_NAMES)}.")
        skipped = len(entries) - len(members)
        if skipped:
            logging.info("Skipped %d entries of %s outside the class folders.", skipped, archive_path)
        for class_name in CLASS_NAMES:
            (destination / class_name).mkdir(parents=True, exist_ok=True)
        for entry, class_name, file_name in members:
            with archive.open(entry) as source, open(destination / class_name / file_name, "xb") as target:
                shutil.copyfileobj(source, target)
    return counts
