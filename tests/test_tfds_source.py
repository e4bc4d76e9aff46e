"""`gc-tfx data fetch`: the real Horses-or-Humans through tensorflow-datasets, offline from a prepared copy.

The prepared copy is genuine (TFDS's own builder made it; tests/tfds_fixtures.py). Commands run without any
network (`unshare -n`: a network namespace with no interface), so reading a prepared dataset provably needs none,
and a missing one fails at once with the paragraph a user needs.
"""
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Tuple

import pytest

from datasets import layout, tfds_source
from trainer.features import CLASS_NAMES

pytestmark = pytest.mark.skipif(shutil.which("unshare") is None and os.environ.get("CI") != "true",
                                reason="unshare (util-linux) is needed to run the command without a network")


def _offline_gc_tfx(*arguments: str) -> subprocess.CompletedProcess:
    """`gc-tfx ARGUMENTS` in a network namespace of its own, with no network at all."""
    return subprocess.run(["unshare", "--net", sys.executable, "-m", "cli", *arguments], capture_output=True,
                          text=True, timeout=600, check=False)


def _files_by_class(root: str) -> Dict[Tuple[str, str], Counter]:
    """(split, class) -> multiset of the files' bytes."""
    return {(split, class_name): Counter(path.read_bytes() for path in (Path(root) / split / class_name).iterdir())
            for split in layout.SPLITS for class_name in CLASS_NAMES}


def test_fetch_writes_every_prepared_example_offline_byte_for_byte(prepared_tfds, tmp_path):
    out = tmp_path / "real"
    result = _offline_gc_tfx("data", "fetch", str(out), "--tfds-data-dir", prepared_tfds["tfds"])

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Wrote {out}: train: ") and "from the prepared" in lines[0]
    # Every image TFDS holds, in its class, with the very bytes of the original PNG (so identical pixels).
    assert _files_by_class(str(out)) == _files_by_class(prepared_tfds["source"])
    assert all(name.endswith(".png") for _, _, names in os.walk(out / "train") for name in names)
    assert layout.read_marker(out)["tfds"] == {"name": "horses_or_humans", "version": "3.0.0",
                                               "examples": {"train": 60, "test": 16}}

    again = _offline_gc_tfx("data", "fetch", str(out), "--tfds-data-dir", prepared_tfds["tfds"])
    assert again.returncode == 0 and "already holds horses_or_humans 3.0.0" in again.stdout


def test_leftovers_of_an_interrupted_fetch_are_discarded(prepared_tfds, tmp_path):
    out = tmp_path / "real"
    out.mkdir()
    layout.write_marker(out, {"source": "fetch"})  # claimed, then killed before any split was vouched for
    leftover = layout.temporary_path(out, "export-train")
    (leftover / "horses").mkdir(parents=True)
    summary = tfds_source.fetch_horses_or_humans(out, tfds_data_dir=prepared_tfds["tfds"])
    assert summary.written_splits == ("train", "test") and not leftover.exists()
    assert summary.counts == layout.count_images(prepared_tfds["source"])


def test_without_network_or_prepared_data_the_error_says_where_tfds_looked_and_what_to_do(tmp_path):
    data_dir = tmp_path / "empty_tfds"
    result = _offline_gc_tfx("data", "fetch", str(tmp_path / "real"), "--tfds-data-dir", str(data_dir))

    assert result.returncode == 1
    error = result.stderr.strip()
    assert error.startswith(f"gc-tfx: error: TFDS looked for horses_or_humans 3.0.0 in {data_dir}, but it holds "
                            "no prepared horses_or_humans; and it cannot download it: cannot connect to ")
    assert "on a machine with internet" in error and "copy its horses_or_humans/ folder" in error
    assert "Traceback" not in error and len(error.splitlines()) == 1
    assert not (tmp_path / "real").exists()


def test_another_prepared_version_is_named(tmp_path):
    data_dir = tmp_path / "old_tfds"
    (data_dir / "horses_or_humans" / "2.0.0").mkdir(parents=True)
    (data_dir / "horses_or_humans" / "2.0.0" / "dataset_info.json").write_text("{}")
    result = _offline_gc_tfx("data", "fetch", str(tmp_path / "real"), "--tfds-data-dir", str(data_dir))

    assert result.returncode == 1
    assert ("it holds horses_or_humans version 2.0.0 only, and gc-tfx reads 3.0.0 (tensorflow-datasets "
            in result.stderr)


@pytest.mark.parametrize("existing, message", [
    ("foreign", "is not empty (it holds photo.jpg) and was not written by `gc-tfx data fetch`; refusing"),
    ("synth", "holds data written by `gc-tfx data synth`; refusing to replace it with `gc-tfx data fetch`"),
])
def test_an_output_folder_holding_other_data_is_refused_untouched(prepared_tfds, tmp_path, existing, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.jpg").write_bytes(b"mine")
    if existing == "synth":
        layout.write_marker(out, {"source": "synth"})
    with pytest.raises(layout.OutputFolderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tfds_source.fetch_horses_or_humans(out, tfds_data_dir=prepared_tfds["tfds"])
    assert (out / "photo.jpg").read_bytes() == b"mine" and not (out / "train").exists()
