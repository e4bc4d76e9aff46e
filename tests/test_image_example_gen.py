"""ImageExampleGen: path rules, image normalisation, reports, and real LocalDagRunner runs on tiny folders."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Dict, Tuple

import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from ml_metadata.proto import metadata_store_pb2

import image_fixtures
from components.image_example_gen.component import ImageExampleGen
from components.image_example_gen.ingestion_report import IncompleteSplitError
from results.ingestion import REJECTED_CSV, SUMMARY_JSON, IngestionSummary
from components.image_example_gen import beam_ingestion, image_normalization, ingestion_report, layout, listing
from trainer.features import CLASS_NAMES, FILENAME_KEY, IMAGE_KEY, LABEL_KEY, SPLIT_NAMES

EVAL_PERCENT = 25  # with 8 training images per class, every split gets both classes (checked in the e2e test)


# ---- where files go ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_value", [0, 51, -5, 10.0, "10", True, None])
def test_eval_percent_outside_1_to_50_or_not_int_is_refused(bad_value):
    with pytest.raises(ValueError, match=re.escape(repr(bad_value))):
        layout.validate_eval_percent(bad_value)


@pytest.mark.parametrize("good_value", [1, 10, 50])
def test_eval_percent_from_1_to_50_is_accepted(good_value):
    assert layout.validate_eval_percent(good_value) == good_value


def test_component_refuses_bad_arguments_when_the_pipeline_is_defined():
    with pytest.raises(ValueError, match="got 60"):
        ImageExampleGen(input_base="data", eval_percent=60)
    with pytest.raises(ValueError, match="input_base"):
        ImageExampleGen(input_base="")


def test_component_id_says_example_gen():
    assert "ExampleGen" in ImageExampleGen(input_base="data").id


def test_kubeflow_v2_runs_an_example_gen_driver_before_its_cache_check(tmp_path):
    # Why ImageExampleGen subclasses FileBasedExampleGen: KFP v2 would otherwise key its cache on input_base
    # alone and reuse stale examples after the folder changes.
    pipeline = tfx_pipeline.Pipeline(pipeline_name="kfp", pipeline_root="gs://bucket/root", enable_cache=True,
                                     components=[ImageExampleGen(input_base="gs://bucket/data")])
    output_file = str(tmp_path / "pipeline.yaml")
    kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image="image:1", use_pipeline_spec_2_1=True),
        output_filename=output_file).run(pipeline)
    with open(output_file) as stream:
        container = yaml.safe_load(stream)["deploymentSpec"]["executors"]["ImageExampleGen_executor"]["container"]
    assert "--json_serialized_invocation_args" in container["lifecycle"]["preCacheCheck"]["args"]


@pytest.mark.parametrize("path, split, class_name, reason_pattern", [
    ("test/humans/human-001.png", "test", "humans", None),
    ("test/horses/PHOTO.JPEG", "test", "horses", None),
    ("test/horses/old.Bmp", "test", "horses", None),
    ("test/humans/notes.txt", "test", "humans", r"extension '\.txt'"),
    ("test/humans/no_extension", "test", "humans", "no file extension"),
    (".DS_Store", "", "", r"hidden file or folder '\.DS_Store'"),
    ("test/horses/.DS_Store", "test", "horses", "hidden"),
    ("test/horses/.ipynb_checkpoints/a.png", "test", "horses", r"hidden file or folder '\.ipynb_checkpoints'"),
    ("README.txt", "", "", r"outside the train/ and test/ folders"),
    ("validation/horses/a.png", "", "", r"outside the train/ and test/ folders"),
    ("test/a.png", "test", "", r"not inside a class folder of test/"),
    ("test/zebras/a.png", "test", "", r"unknown class folder 'zebras' \(expected one of horses, humans\)"),
    ("test/horses/more/a.png", "test", "horses", r"sub-folder of test/horses/"),
])
def test_place_file_gives_split_class_or_reason(path, split, class_name, reason_pattern):
    placement = layout.place_file(path, EVAL_PERCENT)
    assert (placement.path, placement.split, placement.class_name) == (path, split, class_name)
    if reason_pattern is None:
        assert placement.rejection is None
    else:
        assert re.search(reason_pattern, placement.rejection)


def test_training_folder_files_go_to_train_or_eval_by_hash():
    placement = layout.place_file("train/humans/x.png", 50)
    assert placement.split == layout.split_of_training_file("train/humans/x.png", 50)
    assert placement.split in ("train", "eval") and placement.rejection is None


def test_hash_bucket_is_pinned_so_splits_never_move_between_releases():
    # sha256-based, unlike Python's per-process salted hash(); a change here would reshuffle train and eval.
    assert layout.hash_bucket("train/horses/horse01-0.png") == 41
    assert layout.hash_bucket("train/humans/human01-00.png") == 84


@pytest.mark.parametrize("eval_percent", [5, 10, 30, 50])
def test_eval_share_is_close_to_eval_percent(eval_percent):
    paths = [f"train/{CLASS_NAMES[i % 2]}/img{i:05d}.png" for i in range(4000)]
    share = sum(layout.split_of_training_file(path, eval_percent) == "eval" for path in paths) / len(paths)
    assert abs(share - eval_percent / 100) < 0.02


def test_raising_eval_percent_only_moves_files_from_train_to_eval():
    paths = [f"train/horses/img{i:04d}.png" for i in range(500)]
    eval_at_10 = {path for path in paths if layout.split_of_training_file(path, 10) == "eval"}
    eval_at_20 = {path for path in paths if layout.split_of_training_file(path, 20) == "eval"}
    assert eval_at_10 < eval_at_20


# ---- image normalisation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(image_fixtures.awkward_images().values()), ids=lambda case: case.file_name)
def test_awkward_valid_images_decode_to_rgb_with_right_shape_and_colour(case):
    normalized = image_normalization.normalize_image(case.data)
    decoded = tf.io.decode_image(normalized.encoded, channels=3).numpy()
    assert decoded.dtype == np.uint8
    assert decoded.shape == case.shape
    assert (normalized.height, normalized.width) == case.shape[:2]
    np.testing.assert_allclose(decoded[0, 0], case.colour, atol=case.tolerance)


def test_transparent_pixels_are_composited_on_white():
    decoded = tf.io.decode_image(image_normalization.normalize_image(image_fixtures.rgba_png()).encoded,
                                 channels=3).numpy()
    np.testing.assert_array_equal(decoded[0, 1], (255, 255, 255))


@pytest.mark.parametrize("data", [image_fixtures.rgb_png((1, 2, 3)), image_fixtures.rgb_jpeg((4, 5, 6)),
                                  image_fixtures.rgb_png((7, 8, 9), size=(1024, 3))],
                         ids=["rgb_png", "rgb_jpeg", "png_at_max_side"])
def test_fine_rgb_png_and_jpeg_keep_their_exact_bytes(data):
    normalized = image_normalization.normalize_image(data)
    assert normalized.encoded == data and not normalized.reencoded


@pytest.mark.parametrize("case", ["grayscale.png", "rgb16.png", "cmyk.jpg", "large.png", "animated.gif"])
def test_reencoded_images_are_8_bit_rgb_png(case):
    normalized = image_normalization.normalize_image(image_fixtures.awkward_images()[case].data)
    assert normalized.reencoded
    assert normalized.encoded[24:26] == bytes([8, 2])  # IHDR: bit depth 8, colour type 2 (RGB)


@pytest.mark.parametrize("data, reason_pattern", [
    (b"", r"^empty file \(0 bytes\)$"),
    (b"Hello, I am a text file with an image extension.", "^not an image: Pillow cannot identify"),
    (image_fixtures.truncated(image_fixtures.rgb_png((1, 2, 3), size=(64, 64))), "^truncated or corrupt PNG image"),
    (image_fixtures.truncated(image_fixtures.rgb_jpeg((1, 2, 3), size=(64, 64))),
     "^truncated or corrupt (JPEG )?image"),
], ids=["empty", "text", "truncated_png", "truncated_jpeg"])
def test_undecodable_files_are_rejected_with_a_one_line_reason(data, reason_pattern):
    with pytest.raises(image_normalization.UnusableImageError) as error:
        image_normalization.normalize_image(data)
    assert re.search(reason_pattern, error.value.reason)
    assert "\n" not in error.value.reason


def test_decompression_bombs_are_rejected(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses above twice the limit
    with pytest.raises(image_normalization.UnusableImageError, match="^too many pixels"):
        image_normalization.normalize_image(image_fixtures.rgb_png((0, 0, 0), size=(20, 20)))


# Entries that are neither entered nor read, with the reason rejected.csv must give (_write_hostile_entries).
UNREADABLE_ENTRIES = {
    # Two loops: through fileio.walk, which enters folder links, the paths doubled at every level.
    "train/horses/loop": r"^link to a folder above it \(-> \.\.\), a loop: links to folders are not followed$",
    "train/humans/loop": r"^link to a folder above it \(-> \.\.\), a loop",
    "test/humans/elsewhere": r"^link to a folder \(-> .*outside\): links to folders are not followed; copy",
    "test/horses/broken.png": r"^broken link \(-> missing\.png\): it leads to nothing that can be opened$",
    "train/horses/pipe.png": r"^not a regular file \(a FIFO",
}
LINKED_FILES = {"train/humans/outside.png": CLASS_NAMES.index("humans")}  # links to a file outside: ingested
# Listed, then rejected unread for its size (sparse: it takes no disk).
OVERSIZED_FILE = "train/horses/huge.png"
OVERSIZED_REASON = (r"^file too large to be an image here: \d+ MiB, over "
                    rf"{beam_ingestion.MAX_FILE_BYTES >> 20} MiB; not read$")


def _write_hostile_entries(data: str) -> None:
    """UNREADABLE_ENTRIES, LINKED_FILES and OVERSIZED_FILE in `data`, linking to `outside/` beside it."""
    outside = os.path.join(os.path.dirname(data), "outside")
    image_fixtures.write_file(os.path.join(outside, "elsewhere.png"), image_fixtures.rgb_png((9, 9, 9)))
    os.symlink("..", os.path.join(data, "train", "horses", "loop"))
    os.symlink("..", os.path.join(data, "train", "humans", "loop"))
    os.symlink(outside, os.path.join(data, "test", "humans", "elsewhere"))
    os.symlink("missing.png", os.path.join(data, "test", "horses", "broken.png"))
    os.mkfifo(os.path.join(data, "train", "horses", "pipe.png"))
    os.symlink(os.path.join(outside, "elsewhere.png"), os.path.join(data, "train", "humans", "outside.png"))
    with open(os.path.join(data, *OVERSIZED_FILE.split("/")), "wb") as oversized:
        oversized.truncate(beam_ingestion.MAX_FILE_BYTES + 1)


# ---- listing and fingerprint of the data folder (the cache key) -------------------------------------------

def test_fingerprint_changes_exactly_when_a_file_changes(tmp_path):
    data = str(tmp_path / "data")
    image_fixtures.write_clean_data_folder(data, train_per_class=2, test_per_class=1)
    bitmap = os.path.join(data, "train", "horses", "same-size.bmp")
    image_fixtures.write_file(bitmap, image_fixtures.encode(Image.new("RGB", (4, 4), (255, 0, 0)), "BMP"))
    original = listing.fingerprint_folder(data)
    assert listing.fingerprint_folder(data + "/") == original

    stat = os.stat(bitmap)
    image_fixtures.write_file(bitmap, image_fixtures.encode(Image.new("RGB", (4, 4), (0, 255, 0)), "BMP"))
    os.utime(bitmap, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime: only content differs
    assert os.path.getsize(bitmap) == stat.st_size
    modified = listing.fingerprint_folder(data)
    assert modified != original

    os.rename(bitmap, os.path.join(data, "train", "humans", "same-size.bmp"))  # same bytes, other class
    moved = listing.fingerprint_folder(data)
    assert moved not in (original, modified)

    os.remove(os.path.join(data, "train", "humans", "same-size.bmp"))
    removed = listing.fingerprint_folder(data)
    assert removed not in (original, modified, moved)
    assert listing.fingerprint_folder(data) == removed


def test_listing_includes_hidden_and_nested_files_and_refuses_a_missing_folder(tmp_path):
    image_fixtures.write_file(str(tmp_path / "train" / "horses" / "a" / "b.png"), b"x")
    image_fixtures.write_file(str(tmp_path / ".DS_Store"), b"x")
    assert listing.list_folder(str(tmp_path)) == listing.FolderListing([".DS_Store", "train/horses/a/b.png"], [])
    with pytest.raises(ValueError, match="does not exist"):
        listing.list_folder(str(tmp_path / "missing"))


# Lists a folder in a process whose heap is capped, so a listing that multiplies fails in seconds instead of taking
# the machine's memory; prints the listing and the peak of Python allocations while listing.
_CAPPED_LISTING = """
import json, resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_DATA, (int(sys.argv[2]) << 20, resource.RLIM_INFINITY))
from components.image_example_gen import listing
tracemalloc.start()
folder = listing.list_folder(sys.argv[1])
print(json.dumps({"files": folder.files, "unreadable": dict(folder.unreadable),
                  "peak_bytes": tracemalloc.get_traced_memory()[1]}))
"""
_LISTING_HEAP_CAP_MIB = 1536  # TensorFlow, which fileio imports, takes about 600 MB


def test_folder_links_are_listed_not_entered_so_loops_end_with_little_memory(tmp_path):
    data = str(tmp_path / "data")
    labels = image_fixtures.write_clean_data_folder(data, train_per_class=4, test_per_class=2)
    _write_hostile_entries(data)
    child = subprocess.run([sys.executable, "-c", _CAPPED_LISTING, data, str(_LISTING_HEAP_CAP_MIB)],
                           capture_output=True, text=True, timeout=90, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    folder = json.loads(child.stdout.splitlines()[-1])
    assert folder["files"] == sorted([*labels, *LINKED_FILES, OVERSIZED_FILE])
    assert sorted(folder["unreadable"]) == sorted(UNREADABLE_ENTRIES)
    for path, reason in folder["unreadable"].items():
        assert re.search(UNREADABLE_ENTRIES[path], reason), (path, reason)
    assert folder["peak_bytes"] < 100_000  # a few hundred bytes per entry


def test_the_fingerprint_sees_a_link_to_a_folder_appear(tmp_path):
    data = str(tmp_path / "data")
    image_fixtures.write_clean_data_folder(data, train_per_class=1, test_per_class=1)
    before = listing.fingerprint_folder(data)
    os.symlink("..", os.path.join(data, "train", "horses", "loop"))
    after = listing.fingerprint_folder(data)
    assert before.startswith("files:4,sha256:") and after.startswith("files:4,unreadable:1,sha256:")


# ---- reports -----------------------------------------------------------------------------------------------

def test_rejected_csv_is_sorted_and_quotes_awkward_paths():
    text = ingestion_report.rejected_csv_text([
        ingestion_report.Rejection("z.txt", "", "", "outside, far away"),
        ingestion_report.Rejection('train/horses/a "b".png', "eval", "horses", "empty file (0 bytes)"),
    ])
    assert list(csv.reader(text.splitlines())) == [
        ["path", "split", "reason"],
        ['train/horses/a "b".png', "eval", "empty file (0 bytes)"],
        ["z.txt", "", "outside, far away"],
    ]


def _summary(ingested: Dict[Tuple[str, str], int]) -> IngestionSummary:
    return ingestion_report.build_summary(
        list(ingested.items()), [ingestion_report.Rejection("eval/humans/x.png", "eval", "humans", "empty")],
        data_folder="gs://bucket/data", eval_percent=10)


def test_summary_counts_every_split_and_class_including_zeros():
    summary = _summary({("train", "horses"): 3, ("test", "humans"): 2})
    assert summary.ingested == {"train": {"horses": 3, "humans": 0}, "eval": {"horses": 0, "humans": 0},
                                "test": {"horses": 0, "humans": 2}}
    assert summary.rejected == {"eval": {"humans": 1}}
    assert (summary.ingested_total, summary.rejected_total) == (5, 1)
    assert ingestion_report.count_properties(summary) == {
        "ingested_train": 3, "ingested_eval": 0, "ingested_test": 2, "rejected_total": 1}


def test_summary_file_round_trips_and_spells_out_the_totals():
    summary = _summary({("train", "horses"): 3, ("test", "humans"): 2})
    text = summary.to_json()
    assert IngestionSummary.from_json(text) == summary
    assert (json.loads(text)["ingested_total"], json.loads(text)["rejected_total"]) == (5, 1)


def test_a_class_missing_from_a_split_names_folder_split_and_class():
    counts = {(split, class_name): 1 for split in SPLIT_NAMES for class_name in CLASS_NAMES}
    ingestion_report.check_every_split_has_every_class(_summary(counts), "uri/rejected.csv")
    counts[("eval", "humans")] = 0
    with pytest.raises(IncompleteSplitError) as error:
        ingestion_report.check_every_split_has_every_class(_summary(counts), "uri/rejected.csv")
    assert error.value.missing == [("eval", "humans")]
    assert error.value.data_folder == "gs://bucket/data"
    message = str(error.value)
    assert "'gs://bucket/data'" in message and "split 'eval' has no images of class 'humans'" in message
    assert "rejected from that split and class: 1" in message and "raise eval_percent" in message
    assert "uri/rejected.csv" in message


# ---- end to end: LocalDagRunner, Beam DirectRunner, ML Metadata in SQLite ---------------------------------

DATASET_DESCRIPTION = ".gc-tfx-dataset.json"  # what `gc-tfx data` writes at the top of a folder it made
REJECTED_FILES = {  # relative path: (bytes, regular expression the reason must match)
    "train/horses/truncated.png": (image_fixtures.truncated(image_fixtures.rgb_png((9, 9, 9), size=(64, 64))),
                                   "^truncated or corrupt PNG image"),
    "train/humans/truncated.jpg": (image_fixtures.truncated(image_fixtures.rgb_jpeg((9, 9, 9), size=(64, 64))),
                                   "^truncated or corrupt (JPEG )?image"),
    "test/horses/text.jpg": (b"not a picture", "^not an image"),
    "test/humans/empty.png": (b"", r"^empty file \(0 bytes\)$"),
    "train/horses/notes.txt": (b"notes", r"extension '\.txt'"),
    "train/horses/.DS_Store": (b"\0\0", "^hidden file"),
    "train/horses/.gc-tfx-dataset.json": (b"{}", "^hidden file"),  # the dataset description, but not at the top
    "README.md": (b"# data", "^outside the train/ and test/ folders"),
    "validation/horses/horse.png": (image_fixtures.rgb_png((1, 1, 1)), "^outside the train/ and test/ folders"),
    "train/zebras/zebra.png": (image_fixtures.rgb_png((1, 1, 1)), "^unknown class folder 'zebras'"),
    "train/stray.png": (image_fixtures.rgb_png((1, 1, 1)), "^not inside a class folder"),
    "test/humans/nested/deep.png": (image_fixtures.rgb_png((1, 1, 1)), "^inside a sub-folder"),
}

def _awkward_paths() -> Dict[str, image_fixtures.AwkwardImage]:
    """Awkward images spread over both folders and classes."""
    folders = ["train/humans", "test/horses", "train/horses", "test/humans"]
    return {f"{folders[index % len(folders)]}/{case.file_name}": case
            for index, case in enumerate(image_fixtures.awkward_images().values())}


def _write_mixed_data_folder(data: str) -> Dict[str, int]:
    """Clean images, awkward-but-valid images and files to reject; returns {ingestible path: label}."""
    labels = image_fixtures.write_clean_data_folder(data, train_per_class=8, test_per_class=2)
    for path, case in _awkward_paths().items():
        image_fixtures.write_file(os.path.join(data, path), case.data)
        labels[path] = CLASS_NAMES.index(path.split("/")[1])
    for path, (content, _) in REJECTED_FILES.items():
        image_fixtures.write_file(os.path.join(data, path), content)
    image_fixtures.write_file(os.path.join(data, DATASET_DESCRIPTION), b'{"source": "synthetic"}')
    _write_hostile_entries(data)
    return {**labels, **LINKED_FILES}


def _run_example_gen(data: str, workdir: str, *, beam_pipeline_args: Tuple[str, ...] = ()) -> None:
    pipeline = tfx_pipeline.Pipeline(
        pipeline_name="image_example_gen_test",
        pipeline_root=os.path.join(workdir, "root"),
        components=[ImageExampleGen(input_base=data, eval_percent=EVAL_PERCENT)],
        enable_cache=True,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            os.path.join(workdir, "metadata.sqlite")),
        beam_pipeline_args=list(beam_pipeline_args))
    LocalDagRunner().run(pipeline)


def _latest_examples(workdir: str) -> Tuple[metadata_store_pb2.Artifact, metadata_store_pb2.Execution]:
    """The Examples artifact the latest ExampleGen execution produced or reused, and that execution."""
    config = metadata.sqlite_metadata_connection_config(os.path.join(workdir, "metadata.sqlite"))
    with metadata.Metadata(config) as store_handle:
        store = store_handle.store
        execution = max(store.get_executions(), key=lambda execution: execution.id)
        output_ids = [event.artifact_id for event in store.get_events_by_execution_ids([execution.id])
                      if event.type == metadata_store_pb2.Event.OUTPUT]
        [artifact] = store.get_artifacts_by_id(output_ids)
    return artifact, execution


def _read_split(examples_uri: str, split: str) -> Dict[str, tf.train.Example]:
    files = tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*.gz"))
    assert files, f"no TFRecord files in Split-{split}"
    examples = {}
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        filename = example.features.feature[FILENAME_KEY].bytes_list.value[0].decode("utf-8")
        assert filename not in examples, f"{filename} ingested twice"
        examples[filename] = example
    return examples


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """One ingestion of the mixed folder; tests below inspect its outputs."""
    workdir = str(tmp_path_factory.mktemp("mixed"))
    data = os.path.join(workdir, "data")
    labels = _write_mixed_data_folder(data)
    _run_example_gen(data, workdir)
    artifact, _ = _latest_examples(workdir)
    splits = {split: _read_split(artifact.uri, split) for split in SPLIT_NAMES}
    return {"data": data, "labels": labels, "artifact": artifact, "splits": splits, "workdir": workdir}


@pytest.mark.e2e
def test_examples_artifact_is_standard(mixed_run):
    artifact = mixed_run["artifact"]
    assert artifact.properties["split_names"].string_value == '["train", "eval", "test"]'
    assert artifact.custom_properties["payload_format"].string_value == "FORMAT_TF_EXAMPLE"
    assert artifact.custom_properties["file_format"].string_value == "tfrecords_gzip"
    assert artifact.custom_properties["input_fingerprint"].string_value.startswith("files:")
    assert sorted(os.listdir(artifact.uri)) == sorted(["Split-eval", "Split-test", "Split-train",
                                                       REJECTED_CSV, SUMMARY_JSON])


@pytest.mark.e2e
def test_every_file_is_ingested_once_or_rejected(mixed_run):
    ingested = [path for split in mixed_run["splits"].values() for path in split]
    with open(os.path.join(mixed_run["artifact"].uri, REJECTED_CSV), newline="") as stream:
        rejected = [row["path"] for row in csv.DictReader(stream)]
    on_disk = []  # every entry that is not a folder, walked without entering links (os.walk's default)
    for folder, folders, files in os.walk(mixed_run["data"]):
        on_disk += [os.path.relpath(os.path.join(folder, name), mixed_run["data"])
                    for name in files + [name for name in folders if os.path.islink(os.path.join(folder, name))]]
    assert sorted(ingested + rejected + [DATASET_DESCRIPTION]) == sorted(on_disk)  # the description is neither
    assert sorted(ingested) == sorted(mixed_run["labels"])


@pytest.mark.e2e
def test_split_rules_and_labels(mixed_run):
    for split, examples in mixed_run["splits"].items():
        for path, example in examples.items():
            assert example.features.feature[LABEL_KEY].int64_list.value == [mixed_run["labels"][path]]
            assert len(example.features.feature[IMAGE_KEY].bytes_list.value) == 1
            if split == "test":
                assert path.startswith("test/")
            else:
                assert path.startswith("train/")
                assert layout.split_of_training_file(path, EVAL_PERCENT) == split
        labels = {example.features.feature[LABEL_KEY].int64_list.value[0] for example in examples.values()}
        assert labels == {0, 1}, f"split {split} lacks a class"


@pytest.mark.e2e
def test_awkward_images_arrive_decodable_with_right_shape_and_colour(mixed_run):
    examples = {path: example for split in mixed_run["splits"].values() for path, example in split.items()}
    for path, case in _awkward_paths().items():
        encoded = examples[path].features.feature[IMAGE_KEY].bytes_list.value[0]
        decoded = tf.io.decode_image(encoded, channels=3).numpy()
        assert decoded.shape == case.shape, path
        np.testing.assert_allclose(decoded[0, 0], case.colour, atol=case.tolerance, err_msg=path)
    clean_path = "test/humans/humans-000.png"
    assert (examples[clean_path].features.feature[IMAGE_KEY].bytes_list.value[0]
            == image_fixtures.rgb_png(image_fixtures.CLASS_COLOURS["humans"]))


@pytest.mark.e2e
def test_rejected_csv_lists_each_bad_file_with_split_and_reason(mixed_run):
    with open(os.path.join(mixed_run["artifact"].uri, REJECTED_CSV), newline="") as stream:
        rows = list(csv.DictReader(stream))
    reason_patterns = {**{path: pattern for path, (_, pattern) in REJECTED_FILES.items()}, **UNREADABLE_ENTRIES,
                       OVERSIZED_FILE: OVERSIZED_REASON}
    assert [row["path"] for row in rows] == sorted(reason_patterns)
    for row in rows:
        reason_pattern = reason_patterns[row["path"]]
        assert re.search(reason_pattern, row["reason"]), row
        top_folder = row["path"].split("/")[0] if "/" in row["path"] else ""
        expected_split = {"train": layout.split_of_training_file(row["path"], EVAL_PERCENT),
                          "test": "test"}.get(top_folder, "")
        assert row["split"] == expected_split, row


@pytest.mark.e2e
def test_summary_file_and_artifact_properties_agree_with_the_splits(mixed_run):
    with open(os.path.join(mixed_run["artifact"].uri, SUMMARY_JSON)) as stream:
        summary = json.load(stream)
    for split, examples in mixed_run["splits"].items():
        for label, class_name in enumerate(CLASS_NAMES):
            expected = sum(mixed_run["labels"][path] == label for path in examples)
            assert summary["ingested"][split][class_name] == expected
        assert mixed_run["artifact"].custom_properties[f"ingested_{split}"].int_value == len(examples)
    rejected_total = len(REJECTED_FILES) + len(UNREADABLE_ENTRIES) + 1  # and OVERSIZED_FILE
    assert summary["rejected_total"] == rejected_total
    assert mixed_run["artifact"].custom_properties["rejected_total"].int_value == rejected_total
    assert summary["rejected"]["(none)"] == {"(none)": 2}  # README.md and validation/horses/horse.png


@pytest.mark.e2e
def test_a_second_run_splits_identically_even_on_several_workers(mixed_run, tmp_path):
    _run_example_gen(mixed_run["data"], str(tmp_path),
                     beam_pipeline_args=("--direct_running_mode=multi_threading", "--direct_num_workers=2"))
    artifact, _ = _latest_examples(str(tmp_path))
    for split in SPLIT_NAMES:
        again = _read_split(artifact.uri, split)
        assert sorted(again) == sorted(mixed_run["splits"][split])
        assert all(again[path] == example for path, example in mixed_run["splits"][split].items())


@pytest.mark.e2e
def test_cache_is_reused_only_while_the_data_folder_is_unchanged(tmp_path):
    data, workdir = str(tmp_path / "data"), str(tmp_path)
    image_fixtures.write_clean_data_folder(data, train_per_class=8, test_per_class=1)
    bitmap = os.path.join(data, "test", "horses", "same-size.bmp")
    image_fixtures.write_file(bitmap, image_fixtures.encode(Image.new("RGB", (4, 4), (255, 0, 0)), "BMP"))

    def run_and_report() -> Tuple[int, int, int]:
        _run_example_gen(data, workdir)
        artifact, execution = _latest_examples(workdir)
        return execution.last_known_state, artifact.id, artifact.custom_properties["ingested_test"].int_value

    complete, cached = metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED
    state, first_artifact, test_count = run_and_report()
    assert (state, test_count) == (complete, 3)
    state, artifact_id, _ = run_and_report()
    assert (state, artifact_id) == (cached, first_artifact)

    stat = os.stat(bitmap)
    image_fixtures.write_file(bitmap, image_fixtures.encode(Image.new("RGB", (4, 4), (0, 0, 255)), "BMP"))
    os.utime(bitmap, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only the content differs
    state, modified_artifact, _ = run_and_report()
    assert state == complete and modified_artifact != first_artifact

    image_fixtures.write_file(os.path.join(data, "test", "humans", "added.png"), image_fixtures.rgb_png((0, 0, 0)))
    state, _, test_count = run_and_report()
    assert (state, test_count) == (complete, 4)

    os.remove(bitmap)
    state, _, test_count = run_and_report()
    assert (state, test_count) == (complete, 3)


@pytest.mark.e2e
@pytest.mark.parametrize("removed_folder, missing", [
    ("test/humans", [("test", "humans")]),
    ("test", [("test", "horses"), ("test", "humans")]),
])
def test_a_split_without_some_class_stops_the_run(tmp_path, removed_folder, missing):
    data = str(tmp_path / "data")
    image_fixtures.write_clean_data_folder(data, train_per_class=8, test_per_class=1)
    shutil.rmtree(os.path.join(data, removed_folder))
    with pytest.raises(IncompleteSplitError) as error:
        _run_example_gen(data, str(tmp_path))
    assert error.value.missing == missing
    assert f"Data folder {data!r}" in str(error.value)
    for split, class_name in missing:
        assert f"split {split!r} has no images of class {class_name!r}" in str(error.value)
