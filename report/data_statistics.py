"""Highlights of StatisticsGen's output per split, and ExampleValidator's anomalies, as plain values.

StatisticsGen sees the examples the models saw, after ImageExampleGen's normalisation, so its counts are checked
against the ingestion summary in the report rather than assumed equal.
"""
import dataclasses
from typing import Dict, List, Optional, Tuple

from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.types import artifact_utils, standard_artifacts

from components import validation_gate
from trainer import features


@dataclasses.dataclass(frozen=True)
class SplitStatistics:
    """One split as StatisticsGen saw it; a field is None when the statistics do not hold it."""

    split: str
    examples: int
    class_counts: Optional[Dict[str, int]]  # by class name, from the label feature
    mean_image_bytes: Optional[float]  # mean size of the encoded PNG/JPEG
    distinct_images: Optional[int]  # fewer than `examples` means duplicated images
    examples_missing: Dict[str, int]  # feature name -> examples without a value, for features missing any


@dataclasses.dataclass(frozen=True)
class Anomaly:
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


def load_split_statistics(statistics: metadata_store_pb2.Artifact) -> List[SplitStatistics]:
    """Highlights of every split in StatisticsGen's ExampleStatistics artifact, in the artifact's split order."""
    artifact = standard_artifacts.ExampleStatistics()
    artifact.set_mlmd_artifact(statistics)
    highlights = []
    for split in artifact_utils.decode_split_names(artifact.split_names):
        datasets = stats_artifact_utils.load_statistics(artifact, split).proto().datasets
        if len(datasets) != 1:
            raise ValueError(f"Statistics of split {split!r} in {statistics.uri} hold {len(datasets)} datasets; "
                             f"expected 1 (StatisticsGen without slicing).")
        highlights.append(split_statistics(split, datasets[0]))
    return highlights


def load_anomalies(anomalies: metadata_store_pb2.Artifact) -> Dict[str, Tuple[Anomaly, ...]]:
    """ExampleValidator's findings by split; a split with an empty tuple had none."""
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.set_mlmd_artifact(anomalies)
    findings = {}
    for split, proto in validation_gate.load_anomalies(artifact).items():
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
