"""The real Horses-or-Humans data through tensorflow-datasets: the `horses_or_humans` builder, version 3.0.0.

Users of the keras.io example have it prepared already (`tfds.load("horses_or_humans")` prepares it in the TFDS
data directory: `~/tensorflow_datasets`, or TFDS_DATA_DIR); a prepared copy is read offline as it is. Otherwise
TFDS downloads the two zips, verifies the checksums it registers for them and prepares the dataset. The examples
are then written into the folder layout the pipeline reads, each image's bytes exactly as TFDS stores them (the
original PNG files), so ingestion, rejection accounting and the report work on them unchanged.
"""
import dataclasses
import os
import socket
import urllib.parse
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from absl import logging

from datasets import layout
from trainer.features import CLASS_NAMES

TFDS_NAME = "horses_or_humans"
TFDS_VERSION = "3.0.0"
SOURCE = "fetch"
SPLITS = {"train": "train", "test": "test"}  # folder split -> TFDS split
# A quick connection check before TFDS downloads: without a network its downloader retries for minutes.
PROBE_SECONDS = 10.0


class FetchError(ValueError):
    """The dataset cannot be had from TFDS here; the message says where TFDS looked and what to do."""


@dataclasses.dataclass(frozen=True)
class FetchSummary:
    """What `fetch_horses_or_humans` left in `out`: the splits it wrote now, counts[split][class], and where TFDS
    keeps the prepared dataset."""

    out: Path
    written_splits: Tuple[str, ...]
    counts: Dict[str, Dict[str, int]]
    tfds_data_dir: str
    downloaded: bool


def _tfds():
    """tensorflow_datasets, imported on first use: it loads TensorFlow, which `gc-tfx data synth` never needs."""
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

    return tfds


def _prepare_elsewhere_hint(data_dir: str) -> str:
    return (f"To prepare it on a machine with internet, run `gc-tfx data fetch OUT --tfds-data-dir {data_dir}` there "
            f"(or, in Python, `tfds.builder(\"{TFDS_NAME}:{TFDS_VERSION}\", data_dir=\"{data_dir}\")"
            f".download_and_prepare()`), then copy its {TFDS_NAME}/ folder into the TFDS data directory here "
            f"(--tfds-data-dir, else TFDS_DATA_DIR, else ~/tensorflow_datasets).")


def _builder(tfds_data_dir: Optional[str]):
    tfds = _tfds()
    try:
        return tfds.builder(f"{TFDS_NAME}:{TFDS_VERSION}", data_dir=tfds_data_dir)
    except (tfds.core.registered.DatasetNotFoundError, AssertionError, ValueError) as error:
        raise FetchError(f"tensorflow-datasets {tfds.__version__} cannot build {TFDS_NAME} {TFDS_VERSION}, the "
                         f"version gc-tfx reads: {error}. Install the lock's tensorflow-datasets (`make setup`).") \
            from error


def _data_dir_root(builder) -> str:
    """The TFDS data directory (builder.data_dir is DATA_DIR/NAME/VERSION)."""
    return os.path.dirname(os.path.dirname(os.fspath(builder.data_dir)))


def _other_prepared_versions(data_dir: str) -> Tuple[str, ...]:
    dataset_dir = Path(data_dir) / TFDS_NAME
    if not dataset_dir.is_dir():
        return ()
    return tuple(sorted(entry.name for entry in dataset_dir.iterdir()
                        if entry.name != TFDS_VERSION and (entry / "dataset_info.json").is_file()))


def _download_endpoints(builder) -> List[Tuple[str, int]]:
    """(host, port) pairs a download connects to first: the HTTPS proxy if one is set, else the hosts of the URLs
    TFDS registers checksums for."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if proxy:
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return [(parts.hostname or "", parts.port or 80)]
    return sorted({(urllib.parse.urlsplit(url).hostname or "", 443) for url in builder.url_infos or {}})


def _unreachable(endpoints: List[Tuple[str, int]]) -> Optional[str]:
    """Why the first of `endpoints` that cannot be reached cannot be, or None when all answer."""
    for host, port in endpoints:
        try:
            socket.create_connection((host, port), timeout=PROBE_SECONDS).close()
        except OSError as error:
            return f"cannot connect to {host}:{port} ({error.strerror or error})"
    return None


def _prepare(builder) -> bool:
    """Prepares the dataset unless it is; returns whether TFDS had to download it."""
    if builder.is_prepared():
        logging.info("Using the prepared %s %s in %s.", TFDS_NAME, TFDS_VERSION, builder.data_dir)
        return False
    tfds = _tfds()
    from tensorflow_datasets.core.download import download_manager  # pylint: disable=import-outside-toplevel

    data_dir = _data_dir_root(builder)
    others = _other_prepared_versions(data_dir)
    found = (f"it holds {TFDS_NAME} version {', '.join(others)} only, and gc-tfx reads {TFDS_VERSION} "
             f"(tensorflow-datasets {tfds.__version__}'s)" if others else f"it holds no prepared {TFDS_NAME}")
    looked = f"TFDS looked for {TFDS_NAME} {TFDS_VERSION} in {data_dir}, but {found}; and"
    unreachable = _unreachable(_download_endpoints(builder))
    if unreachable:
        raise FetchError(f"{looked} it cannot download it: {unreachable}. " + _prepare_elsewhere_hint(data_dir))
    logging.info("No prepared %s %s in %s: downloading and preparing it.", TFDS_NAME, TFDS_VERSION, data_dir)
    try:
        # The registered checksums are verified on download; pre-generated copies on GCS are not used, so what is
        # prepared is always built from the original zips.
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    except download_manager.NonMatchingChecksumError as error:
        raise FetchError(f"TFDS downloaded the {TFDS_NAME} zips, but they do not match the checksums it registers "
                         f"for {TFDS_NAME} {TFDS_VERSION}: {error}. The files were changed or corrupted on the way; "
                         "rerun, or prepare the dataset elsewhere. " + _prepare_elsewhere_hint(data_dir)) from error
    except (OSError, tfds.download.DownloadError) as error:
        raise FetchError(f"{looked} downloading it failed ({type(error).__name__}: "
                         f"{str(error).strip() or 'no details'}). " + _prepare_elsewhere_hint(data_dir)) from error
    return True


def _extension(encoded: bytes) -> str:
    if encoded.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if encoded.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    raise FetchError(f"TFDS's {TFDS_NAME} holds an image that is neither PNG nor JPEG (first bytes "
                     f"{encoded[:8]!r}); the prepared dataset may be damaged: delete it and fetch again.")


def _examples(builder, split: str) -> Iterator[Tuple[bytes, str]]:
    """(encoded image exactly as stored, class name) of every example of `split`, in TFDS's file order."""
    tfds = _tfds()
    dataset = builder.as_dataset(split=split, shuffle_files=False,
                                 decoders={"image": tfds.decode.SkipDecoding()})
    names = builder.info.features["label"].names
    if tuple(names) != CLASS_NAMES:
        raise FetchError(f"TFDS's {TFDS_NAME} labels its classes {names}, but the pipeline expects {CLASS_NAMES}.")
    for example in dataset.as_numpy_iterator():
        yield bytes(example["image"]), names[int(example["label"])]


def _write_split(builder, tfds_split: str, staging: Path) -> Dict[str, int]:
    counts = {class_name: 0 for class_name in CLASS_NAMES}
    for class_name in CLASS_NAMES:
        (staging / class_name).mkdir(parents=True)
    for encoded, class_name in _examples(builder, tfds_split):
        name = layout.image_name(class_name, counts[class_name], _extension(encoded))
        (staging / class_name / name).write_bytes(encoded)
        counts[class_name] += 1
    return counts


def fetch_horses_or_humans(out: os.PathLike, tfds_data_dir: Optional[str] = None) -> FetchSummary:
    """Fills `out/{train,test}/{horses,humans}/` from TFDS's prepared `horses_or_humans` (preparing it first when
    needed); does nothing when `out` already holds exactly that.

    Raises FetchError (no prepared data and no download, a version TFDS cannot provide, checksums that do not
    match) and layout.OutputFolderError when `out` holds other data.
    """
    with layout.claimed_output_folder(out, SOURCE) as folder:
        builder = _builder(tfds_data_dir)
        downloaded = _prepare(builder)
        expected = {split: builder.info.splits[tfds_split].num_examples for split, tfds_split in SPLITS.items()}
        source = {"name": TFDS_NAME, "version": TFDS_VERSION, "examples": expected}
        marker = folder.marker or {}
        current = layout.count_images(folder.path)
        if marker.get("tfds") == source and all(sum(current[split].values()) == expected[split]
                                                for split in SPLITS):
            return FetchSummary(folder.path, (), current, _data_dir_root(builder), downloaded)
        written = []
        for split, tfds_split in SPLITS.items():
            staging = layout.temporary_path(folder.path, f"export-{split}")
            counts = _write_split(builder, tfds_split, staging)
            # The marker claims the folder before a split appears in it, and vouches for the data only at the end.
            layout.write_marker(folder.path, {"source": SOURCE})
            layout.publish_split(staging, folder.path, split)
            logging.info("Wrote %s into %s/%s.", counts, folder.path, split)
            written.append(split)
        layout.write_marker(folder.path, {"source": SOURCE, "tfds": source})
        return FetchSummary(folder.path, tuple(written), layout.count_images(folder.path), _data_dir_root(builder),
                            downloaded)


def describe(summary: FetchSummary) -> str:
    """The one-line summary the CLI prints."""
    per_split = layout.describe_counts(summary.counts)
    origin = (f"TFDS downloaded and prepared {TFDS_NAME} {TFDS_VERSION} in {summary.tfds_data_dir}"
              if summary.downloaded else f"from the prepared {TFDS_NAME} {TFDS_VERSION} in {summary.tfds_data_dir}")
    if not summary.written_splits:
        return f"{summary.out} already holds {TFDS_NAME} {TFDS_VERSION} ({per_split}); nothing to do."
    return f"Wrote {summary.out}: {per_split} ({origin})."
