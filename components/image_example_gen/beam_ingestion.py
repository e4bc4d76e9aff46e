"""The Beam part of ImageExampleGen: read, validate and encode each image, write the splits and the reports.

Images travel one per element, so memory stays flat however large the folder; only the paths and the
(usually few) rejections are ever gathered in one place.
"""
import posixpath
from typing import Iterator, List, Mapping, NamedTuple, Tuple, Union

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import write_split
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

from components.image_example_gen import image_normalization
from components.image_example_gen.ingestion_report import Rejection, build_summary, rejected_csv_text
from components.image_example_gen.layout import Placement
from results.ingestion import REJECTED_CSV, SUMMARY_JSON
from trainer.features import CLASS_NAMES, FILENAME_KEY, IMAGE_KEY, LABEL_KEY, SPLIT_NAMES

_REJECTED_TAG = "rejected"
# Larger files are rejected unread: decoding needs a file's bytes in memory at once, so one huge file (a disk image
# named .png) would take that much memory per worker. The largest image Pillow decodes below its decompression-bomb
# limit (about 179 M pixels) is some 540 MB as an 8-bit RGB BMP, and far smaller in any compressed format.
MAX_FILE_BYTES = 640 * 2**20
_METRICS_NAMESPACE = "ImageExampleGen"
FILE_FORMAT = write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP)


class IngestedImage(NamedTuple):
    """One example on its way to its split: `serialized` is a tf.train.Example."""

    split: str
    class_name: str
    serialized: bytes


def _to_example(path: str, class_name: str, encoded: bytes) -> bytes:
    feature = {
        IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
        LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[CLASS_NAMES.index(class_name)])),
        FILENAME_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.encode("utf-8")])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class _ReadImageFn(beam.DoFn):
    """Reads one placed file; emits an IngestedImage, or a Rejection on the `rejected` output."""

    def __init__(self, input_base: str):
        self._input_base = input_base
        self._reencoded = beam.metrics.Metrics.counter(_METRICS_NAMESPACE, "reencoded_images")
        self._kept = beam.metrics.Metrics.counter(_METRICS_NAMESPACE, "images_kept_as_is")

    def process(self, placement: Placement) -> Iterator[Union[IngestedImage, beam.pvalue.TaggedOutput]]:
        # Read errors (permissions, network) raise: Beam retries them, and the run fails rather than
        # quietly dropping a file that might be fine.
        path = posixpath.join(self._input_base, placement.path)
        size = fileio.stat(path).length
        if size > MAX_FILE_BYTES:
            yield beam.pvalue.TaggedOutput(_REJECTED_TAG, Rejection(
                placement.path, placement.split, placement.class_name,
                f"file too large to be an image here: {size / 2**20:.0f} MiB, over {MAX_FILE_BYTES >> 20} MiB; "
                "not read"))
            return
        with fileio.open(path, "rb") as stream:
            data = stream.read()
        try:
            image = image_normalization.normalize_image(data)
        except image_normalization.UnusableImageError as error:
            yield beam.pvalue.TaggedOutput(
                _REJECTED_TAG, Rejection(placement.path, placement.split, placement.class_name, error.reason))
            return
        (self._reencoded if image.reencoded else self._kept).inc()
        yield IngestedImage(placement.split, placement.class_name,
                            _to_example(placement.path, placement.class_name, image.encoded))


def _write_reports(_: None, ingested_counts: List[Tuple[Tuple[str, str], int]], rejections: List[Rejection],
                   output_uri: str, data_folder: str, eval_percent: int) -> None:
    summary = build_summary(ingested_counts, rejections, data_folder, eval_percent)
    with fileio.open(posixpath.join(output_uri, SUMMARY_JSON), "w") as stream:
        stream.write(summary.to_json())
    with fileio.open(posixpath.join(output_uri, REJECTED_CSV), "w") as stream:
        stream.write(rejected_csv_text(rejections))


def ingest(pipeline: beam.Pipeline, input_base: str, placements: List[Placement], split_uris: Mapping[str, str],
           output_uri: str, eval_percent: int) -> None:
    """Adds the ingestion to `pipeline`: gzipped TFRecords per split, plus the two reports in `output_uri`."""
    placed = pipeline | "ListFiles" >> beam.Create(placements)
    to_read, rejected_by_path = placed | "ByPath" >> beam.Partition(
        lambda placement, _: int(placement.rejection is not None), 2)
    read = to_read | "ReadImages" >> beam.ParDo(_ReadImageFn(input_base)).with_outputs(
        _REJECTED_TAG, main="ingested")
    ingested = read.ingested

    by_split = ingested | "BySplit" >> beam.Partition(
        lambda image, _: SPLIT_NAMES.index(image.split), len(SPLIT_NAMES))
    for split, images in zip(SPLIT_NAMES, by_split):
        _ = (images
             | f"Serialized[{split}]" >> beam.Map(lambda image: image.serialized)
             | f"WriteSplit[{split}]" >> write_split.WriteSplit(
                 split_uris[split], FILE_FORMAT))

    rejections = (
        (rejected_by_path | "ToRejection" >> beam.Map(
            lambda placement: Rejection(placement.path, placement.split, placement.class_name,
                                        placement.rejection)),
         read[_REJECTED_TAG])
        | "AllRejections" >> beam.Flatten()
        | "RejectionList" >> beam.combiners.ToList())
    ingested_counts = (ingested
                       | "SplitAndClass" >> beam.Map(lambda image: (image.split, image.class_name))
                       | "CountPerSplitAndClass" >> beam.combiners.Count.PerElement()
                       | "CountList" >> beam.combiners.ToList())
    _ = (pipeline
         | "ReportTrigger" >> beam.Create([None])
         | "WriteReports" >> beam.Map(_write_reports, beam.pvalue.AsSingleton(ingested_counts),
                                      beam.pvalue.AsSingleton(rejections), output_uri, input_base, eval_percent))
