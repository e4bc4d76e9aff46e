"""A genuinely prepared TFDS `horses_or_humans` 3.0.0, made offline from images the test draws.

TFDS's real builder runs end to end (its archive iteration, features, TFRecord writing, dataset_info.json); only
its download step is pointed at two zips written here, in the official archives' layout and names, as TFDS's own
builder tests do. What comes out is what `tfds.load("horses_or_humans")` leaves in a user's data directory.
"""
import os
import zipfile
from typing import Dict
from unittest import mock

import tensorflow_datasets as tfds

from datasets import synthetic, tfds_source
from trainer.features import CLASS_NAMES

# The official archives' names and the TFDS split each fills.
ARCHIVES = {"horse-or-human.zip": "train", "validation-horse-or-human.zip": "test"}


def write_archives(images_root: str, archive_dir: str) -> Dict[str, str]:
    """Zips `images_root/{train,test}/{horses,humans}/*.png` as `horses/NAME.png`, `humans/NAME.png`, as the
    official zips hold them; returns archive file name -> path."""
    os.makedirs(archive_dir, exist_ok=True)
    paths = {}
    for archive_name, split in ARCHIVES.items():
        paths[archive_name] = os.path.join(archive_dir, archive_name)
        with zipfile.ZipFile(paths[archive_name], "w") as archive:
            for class_name in CLASS_NAMES:
                folder = os.path.join(images_root, split, class_name)
                for name in sorted(os.listdir(folder)):
                    archive.write(os.path.join(folder, name), f"{class_name}/{name}")
    return paths


def prepare(data_dir: str, images_root: str) -> None:
    """Prepares horses_or_humans in `data_dir` from the images under `images_root`, with no network."""
    archives = write_archives(images_root, os.path.join(os.path.dirname(data_dir), "archives"))

    def download(_manager, urls):
        return [archives[url.rsplit("/", 1)[-1]] for url in urls]

    builder = tfds.builder(f"{tfds_source.TFDS_NAME}:{tfds_source.TFDS_VERSION}", data_dir=data_dir)
    with mock.patch.object(tfds.download.DownloadManager, "download", download):
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))


def prepare_from_synthetic(root: str, train_size: int, test_size: int, image_size: int) -> Dict[str, str]:
    """Draws images under ROOT/source, prepares TFDS in ROOT/tfds; returns both paths."""
    paths = {"source": os.path.join(root, "source"), "tfds": os.path.join(root, "tfds")}
    synthetic.write_synthetic_dataset(paths["source"], train_size=train_size, test_size=test_size,
                                      image_size=image_size, seed=1)
    prepare(paths["tfds"], paths["source"])
    return paths
