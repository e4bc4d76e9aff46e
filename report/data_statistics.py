"""Highlights of StatisticsGen's output per split, and ExampleValidator's anomalies, as plain values.

StatisticsGen sees the examples the models saw, after ImageExampleGen's normalisation, so its counts are checked
against the ingestion summary in the report rather than assumed equal.
"""
import posixpath
from typing import Dict, List, Optional, Tuple

from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2
from tfx import types
from tfx.components.example_validator import executor as example_validator_executor
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from results.records import Record
from trainer import features


class SplitStatistics(Record):
    """One split as StatisticsGen saw it; a field is None when the statistics do not hold it."""

    split: str
    examples: int
    class_counts: Optional[Dict[str, int]]  # by class name, from the label feature
    mean_image_bytes: Optional[float]  # mean size of the encoded PNG/JPEG
    distinct_images: Optional[int]  # fewer than `examples` means duplicated images
    examples_missing: Dict[str, int]  # feature name -> examples without a value, for features missing any


class Anomaly(Record):
    """One ExampleValidator finding."""

    feature: str  # "(whole dataset)" for dataset-level anomalies
    short_description: str
    description: str


def _feature(dataset: statistics_pb2.DatasetFeatureStatistics,
             name: str) -> Optional[statistics_pb2.FeatureNameStatistics]:
    return next((feature for feature in dataset.features
                 if feature.name == name or list(feature.path.step) == [name]), None)


def _common_stats(feature: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.CommonStatistics:
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind else statistics_pb2.CommonStatistics()


def _class_counts(label: Optional[statistics_pb2.FeatureNameStatistics]) -> Optional[Dict[str, int]]:
    """Counts per class when the labels are 0 and 1 only: zeros are exact in TFDV's numeric statistics and the
    rest are ones; TFDV's histograms are approximate, so other label sets are not counted."""
    if label is None or not label.HasField("num_stats"):
        return None
    stats = label.num_stats
    if len(features.CLASS_NAMES) != 2 or stats.min < 0 or stats.max > 1:
        return None
    labelled = stats.common_stats.num_non_missing
    return {features.CLASS_NAMES[0]: int(stats.num_zeros), features.CLASS_NAMES[1]: int(labelled - stats.num_zeros)}


def split_statistics(split: str, dataset: statistics_pb2.DatasetFeatureStatistics) -> SplitStatistics:
    """The highlights of one split's statistics."""
    image = _feature(dataset, features.IMAGE_KEY)
    image_strings = image.string_stats if image is not None and image.HasField("string_stats") else None
    missing = {}
    for name in (features.IMAGE_KEY, features.LABEL_KEY, features.FILENAME_KEY):
        feature = _feature(dataset, name)
        present = _common_stats(feature).num_non_missing if feature is not None else 0
        if present < dataset.num_examples:
            missing[name] = int(dataset.num_examples - present)
    return SplitStatistics(
        split=split,
        examples=int(dataset.num_examples),
        class_counts=_class_counts(_feature(dataset, features.LABEL_KEY)),
        mean_image_bytes=image_strings.avg_length if image_strings is not None else None,
        distinct_images=int(image_strings.unique) if image_strings is not None else None,
        examples_missing=missing,
    )


def load_split_statistics(artifact: types.Artifact) -> List[SplitStatistics]:
    """Highlights of every split in StatisticsGen's ExampleStatistics artifact, in the artifact's split order."""
    highlights = []
    for split in artifact_utils.decode_split_names(artifact.split_names):
        datasets = stats_artifact_utils.load_statistics(artifact, split).proto().datasets
        if len(datasets) != 1:
            raise ValueError(f"Statistics of split {split!r} in {artifact.uri} hold {len(datasets)} datasets; "
                             f"expected 1 (StatisticsGen without slicing).")
        highlights.append(split_statistics(split, datasets[0]))
    return highlights


def load_anomaly_protos(anomalies_artifact: types.Artifact) -> Dict[str, anomalies_pb2.Anomalies]:
    """The Anomalies proto of each split ExampleValidator validated, read from its artifact."""
    anomalies_by_split = {}
    for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
        path = posixpath.join(artifact_utils.get_split_uri([anomalies_artifact], split),
                              example_validator_executor.DEFAULT_FILE_NAME)
        with fileio.open(path, "rb") as stream:
            anomalies_by_split[split] = anomalies_pb2.Anomalies.FromString(stream.read())
    return anomalies_by_split


def load_anomalies(artifact: types.Artifact) -> Dict[str, Tuple[Anomaly, ...]]:
    """ExampleValidator's findings by split; a split with an empty tuple had none."""
    findings = {}
    for split, proto in load_anomaly_protos(artifact).items():
        split_findings = [
            Anomaly(feature=name, short_description=info.short_description,
                    description=info.description or "; ".join(reason.description for reason in info.reason))
            for name, info in sorted(proto.anomaly_info.items())]
        if proto.HasField("dataset_anomaly_info"):
            info = proto.dataset_anomaly_info
            split_findings.append(Anomaly(feature="(whole dataset)", short_description=info.short_description,
                                          description=info.description))
        findings[split] = tuple(split_findings)
    return findings
