"""The synthetic dataset: deterministic, in the real layout and proportions, and labelled by shape, not colour."""
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from PIL import Image

from cli import main as cli
from datasets import figures, layout, synthetic
from trainer.features import CLASS_NAMES

SMALL = dict(train_size=14, test_size=6, image_size=40)


def _files(root: Path) -> Dict[str, bytes]:
    """Every file under `root` by relative path, the marker excluded."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and path.name != layout.MARKER_FILE_NAME}


def test_same_seed_writes_identical_bytes_serially_and_in_parallel(tmp_path):
    synthetic.write_synthetic_dataset(tmp_path / "serial", seed=3, workers=1, **SMALL)
    synthetic.write_synthetic_dataset(tmp_path / "parallel", seed=3, workers=2, **SMALL)
    serial, parallel = _files(tmp_path / "serial"), _files(tmp_path / "parallel")
    assert len(serial) == 20
    assert serial == parallel


def test_different_seed_changes_every_image(tmp_path):
    synthetic.write_synthetic_dataset(tmp_path / "seed0", seed=0, workers=1, **SMALL)
    synthetic.write_synthetic_dataset(tmp_path / "seed1", seed=1, workers=1, **SMALL)
    first, second = _files(tmp_path / "seed0"), _files(tmp_path / "seed1")
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_an_image_does_not_depend_on_the_dataset_size(tmp_path):
    synthetic.write_synthetic_dataset(tmp_path / "small", seed=5, workers=1, **SMALL)
    synthetic.write_synthetic_dataset(tmp_path / "large", seed=5, workers=1,
                                      **{**SMALL, "train_size": 30})
    small, large = _files(tmp_path / "small"), _files(tmp_path / "large")
    assert set(small) < set(large)
    assert all(large[name] == data for name, data in small.items())


def test_images_within_a_dataset_are_all_different(tmp_path):
    synthetic.write_synthetic_dataset(tmp_path / "out", seed=0, workers=1, **SMALL)
    contents = list(_files(tmp_path / "out").values())
    assert len(set(contents)) == len(contents)


@pytest.mark.parametrize("split, total, expected", [
    ("train", 1027, {"horses": 500, "humans": 527}),
    ("test", 256, {"horses": 128, "humans": 128}),
    ("train", 100, {"horses": 49, "humans": 51}),
    ("test", 10, {"horses": 5, "humans": 5}),
    ("train", 0, {"horses": 0, "humans": 0}),
])
def test_class_counts_follow_the_real_data(split, total, expected):
    assert synthetic.class_counts(split, total) == expected


def test_writes_the_real_data_layout_as_rgb_png(tmp_path):
    summary = synthetic.write_synthetic_dataset(tmp_path / "out", seed=0, workers=1, **SMALL)
    out = tmp_path / "out"
    assert sorted(entry.name for entry in out.iterdir()) == sorted([layout.MARKER_FILE_NAME, "test", "train"])
    for split in layout.SPLITS:
        assert sorted(entry.name for entry in (out / split).iterdir()) == sorted(CLASS_NAMES)
    assert summary.counts == {"train": {"horses": 7, "humans": 7}, "test": {"horses": 3, "humans": 3}}
    assert layout.count_images(out) == summary.counts
    for path in out.rglob("*.png"):
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (40, 40)), path


def test_every_class_has_a_figure():
    assert sorted(figures.FIGURE_BUILDERS) == sorted(CLASS_NAMES)


def test_default_image_is_300_pixels_rgb_with_one_figure():
    rendered = synthetic.render_image(0, "train", "horses", 0, synthetic.DEFAULT_IMAGE_SIZE)
    assert (rendered.image.mode, rendered.image.size) == ("RGB", (300, 300))
    assert rendered.figure_mask.shape == (300, 300)
    assert 0.03 < rendered.figure_mask.mean() < 0.3


def _probe_features(seed: int, per_class: int, size: int) -> Dict[str, np.ndarray]:
    """Per image: label, figure bounding-box width/height, figure area share, mean image RGB, mean figure RGB."""
    rows: Dict[str, List] = {"labels": [], "aspects": [], "areas": [], "image_means": [], "figure_means": []}
    for index in range(per_class):
        for label, class_name in enumerate(CLASS_NAMES):
            rendered = synthetic.render_image(seed, "train", class_name, index, size)
            pixels = np.asarray(rendered.image, dtype=np.float64)
            figure_rows, figure_columns = np.nonzero(rendered.figure_mask)
            rows["labels"].append(label)
            rows["aspects"].append((np.ptp(figure_columns) + 1) / (np.ptp(figure_rows) + 1))
            rows["areas"].append(rendered.figure_mask.mean())
            rows["image_means"].append(pixels.reshape(-1, 3).mean(axis=0))
            rows["figure_means"].append(pixels[rendered.figure_mask].mean(axis=0))
    return {name: np.array(values) for name, values in rows.items()}


def _held_out_linear_accuracy(features: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy on the second half of a least-squares linear classifier fitted on the first half."""
    order = np.random.default_rng(0).permutation(len(labels))
    fit, held_out = order[: len(order) // 2], order[len(order) // 2:]
    design = np.column_stack([features, np.ones(len(features))])
    weights, *_ = np.linalg.lstsq(design[fit], 2.0 * labels[fit] - 1.0, rcond=None)
    return float(np.mean((design[held_out] @ weights > 0) == (labels[held_out] == 1)))


@pytest.fixture(scope="module")
def probe_set():
    return _probe_features(seed=11, per_class=150, size=48)


COLOUR_PROBE_CHANCE_BAR = 0.62  # held-out accuracy on 150 images; chance is 0.5 with a spread of about 0.04


def test_colour_alone_does_not_tell_the_classes_apart(probe_set):
    labels, image_means, figure_means = probe_set["labels"], probe_set["image_means"], probe_set["figure_means"]
    assert _held_out_linear_accuracy(image_means, labels) < COLOUR_PROBE_CHANCE_BAR
    assert _held_out_linear_accuracy(figure_means, labels) < COLOUR_PROBE_CHANCE_BAR
    both = np.column_stack([image_means, figure_means])
    assert _held_out_linear_accuracy(both, labels) < COLOUR_PROBE_CHANCE_BAR


def test_the_colour_probe_would_catch_a_colour_cue(probe_set):
    """Control for the test above: a modest tint of one class must cross the bar, or that test proves nothing."""
    labels = probe_set["labels"]
    tint = np.where(labels[:, None] == 1, [1.0, 0.0, -1.0], 0.0)
    assert _held_out_linear_accuracy(probe_set["image_means"] + 25.0 * tint, labels) > COLOUR_PROBE_CHANCE_BAR
    assert _held_out_linear_accuracy(probe_set["figure_means"] + 20.0 * tint, labels) > COLOUR_PROBE_CHANCE_BAR


def test_shape_tells_the_classes_apart(probe_set):
    labels, aspects = probe_set["labels"], probe_set["aspects"]
    horse_aspects, human_aspects = aspects[labels == 0], aspects[labels == 1]
    assert np.mean((aspects < 1.0) == (labels == 1)) > 0.95
    assert np.median(horse_aspects) > 1.2 and np.median(human_aspects) < 0.85


def test_both_classes_cover_the_same_area_on_average(probe_set):
    """Equal painted area keeps the share of figure colour in an image from hinting at the class."""
    labels, areas = probe_set["labels"], probe_set["areas"]
    horse_area, human_area = areas[labels == 0].mean(), areas[labels == 1].mean()
    assert abs(horse_area - human_area) < 0.15 * max(horse_area, human_area)


def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(layout.OutputFolderError, match=r"notes\.txt.*refusing to overwrite"):
        synthetic.write_synthetic_dataset(out, workers=1, **SMALL)
    assert [entry.name for entry in out.iterdir()] == ["notes.txt"]


def test_refuses_a_folder_holding_downloaded_data(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    layout.write_marker(out, {"source": "fetch", "verified": {}})
    with pytest.raises(layout.OutputFolderError, match="gc-tfx data fetch"):
        synthetic.write_synthetic_dataset(out, workers=1, **SMALL)


def test_rerun_reuses_identical_output_and_replaces_different_output(tmp_path):
    out = tmp_path / "out"
    first = synthetic.write_synthetic_dataset(out, workers=1, **SMALL)
    stamps = {path: path.stat().st_mtime_ns for path in out.rglob("*.png")}
    again = synthetic.write_synthetic_dataset(out, workers=1, **SMALL)
    assert (first.reused, again.reused) == (False, True)
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*.png")} == stamps

    smaller = synthetic.write_synthetic_dataset(out, workers=1, **{**SMALL, "train_size": 4})
    assert not smaller.reused
    assert layout.count_images(out)["train"] == {"horses": 2, "humans": 2}

    (out / "train" / "horses" / "horse-00000.png").unlink()
    assert not synthetic.write_synthetic_dataset(out, workers=1, **{**SMALL, "train_size": 4}).reused
    assert layout.count_images(out)["train"] == {"horses": 2, "humans": 2}


def test_an_interrupted_run_leaves_the_previous_state(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_write = synthetic._write_image
    written = []

    def write_then_fail(job):
        if len(written) == 5:
            raise KeyboardInterrupt
        written.append(job)
        real_write(job)

    monkeypatch.setattr(synthetic, "_write_image", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        synthetic.write_synthetic_dataset(out, workers=1, **SMALL)
    assert not out.exists()  # it created the folder, so it removes it again

    monkeypatch.setattr(synthetic, "_write_image", real_write)
    synthetic.write_synthetic_dataset(out, workers=1, **SMALL)
    before = _files(out)

    written.clear()
    monkeypatch.setattr(synthetic, "_write_image", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        synthetic.write_synthetic_dataset(out, seed=9, workers=1, **SMALL)
    assert _files(out) == before
    assert sorted(entry.name for entry in out.iterdir()) == sorted([layout.MARKER_FILE_NAME, "test", "train"])
    monkeypatch.setattr(synthetic, "_write_image", real_write)
    assert synthetic.write_synthetic_dataset(out, workers=1, **SMALL).reused


def test_leftovers_of_a_killed_run_are_cleaned_up(tmp_path):
    out = tmp_path / "out"
    staged = layout.temporary_path(out, "synth") / "train" / "horses"
    staged.mkdir(parents=True)
    (staged / "horse-00000.png").write_bytes(b"half")
    synthetic.write_synthetic_dataset(out, workers=1, **SMALL)
    assert not any(entry.name.startswith(layout.TEMPORARY_PREFIX) for entry in out.iterdir())
    assert sum(layout.count_images(out)["train"].values()) == 14


@pytest.mark.parametrize("arguments, message", [
    ({"train_size": -1}, "non-negative number of images, got -1"),
    ({"image_size": 8}, "at least 32 pixels, got 8"),
    ({"seed": -2}, "non-negative, got -2"),
])
def test_invalid_arguments_are_rejected_before_writing(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        synthetic.write_synthetic_dataset(tmp_path / "out", workers=1, **{**SMALL, **arguments})
    assert not (tmp_path / "out").exists()


def test_cli_prints_one_line_and_reports_user_errors_without_a_traceback(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["data", "synth", str(out), "--train", "6", "--test", "2", "--image-size", "40"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "train: 3 horses, 3 humans; test: 1 horses, 1 humans" in printed[0]

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "photo.jpg").write_bytes(b"")
    assert cli.main(["data", "synth", str(foreign)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("gc-tfx: error:") and "Traceback" not in error and "photo.jpg" in error

    assert cli.main(["data", "synth", str(tmp_path / "other"), "--image-size", "10"]) == 1
    assert "at least 32 pixels" in capsys.readouterr().err


def test_cli_imports_no_tensorflow_for_synth(tmp_path):
    """The data commands stay light: drawing images must not pay for importing TensorFlow."""
    code = ("import sys; from cli import main as cli; "
            f"cli.main(['data', 'synth', {str(tmp_path / 'out')!r}, '--train', '2', '--test', '2', "
            "'--image-size', '32']); print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(cli.__file__).resolve().parents[1])
    assert result.stdout.strip().splitlines()[-1] == "False"
