"""DataValidationGate: stops the run when ExampleValidator found anomalies, which ExampleValidator never does.

Wire it after ExampleValidator and make the first consumer of the examples wait for it, e.g.
`transform.add_upstream_node(gate)`: standard components take no extra inputs, so an explicit dependency is the
way to make them wait.
"""
import posixpath
from typing import Dict, List, Mapping

from tfx import types
from tfx.components.example_validator import executor as example_validator_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component

from tensorflow_metadata.proto.v0 import anomalies_pb2


class DataAnomaliesError(ValueError):
    """ExampleValidator found anomalies; the message lists them by split and feature."""


def _anomaly_lines(anomalies: anomalies_pb2.Anomalies) -> List[str]:
    lines = []
    for feature_name, info in sorted(anomalies.anomaly_info.items()):
        description = info.description or "; ".join(reason.description for reason in info.reason)
        lines.append(f"    - {feature_name}: {info.short_description} ({description})")
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        lines.append(f"    - (whole dataset): {info.short_description} ({info.description})")
    return lines


def describe_anomalies(anomalies_by_split: Mapping[str, anomalies_pb2.Anomalies]) -> str:
    """A readable report of every split's anomalies, or "" when there are none."""
    sections = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        lines = _anomaly_lines(anomalies)
        if lines:
            sections.append(f"  split {split!r}:\n" + "\n".join(lines))
    if not sections:
        return ""
    return (f"Data validation failed: ExampleValidator found anomalies in {len(sections)} of "
            f"{len(anomalies_by_split)} split(s) against the schema.\n" + "\n".join(sections) + "\n"
            "Fix the data, or update the curated schema if the change is intended.")


def load_anomalies(anomalies_artifact: types.Artifact) -> Dict[str, anomalies_pb2.Anomalies]:
    """The Anomalies proto of each split ExampleValidator validated, read from its artifact."""
    anomalies_by_split = {}
    for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
        path = posixpath.join(artifact_utils.get_split_uri([anomalies_artifact], split),
                              example_validator_executor.DEFAULT_FILE_NAME)
        with fileio.open(path, "rb") as stream:
            anomalies_by_split[split] = anomalies_pb2.Anomalies.FromString(stream.read())
    return anomalies_by_split


@component
def DataValidationGate(  # pylint: disable=invalid-name  (TFX component classes are CamelCase)
        anomalies: InputArtifact[standard_artifacts.ExampleAnomalies]) -> None:
    """Raises DataAnomaliesError listing each split's anomalies; passes when every split is clean."""
    anomalies_by_split = load_anomalies(anomalies)
    if not anomalies_by_split:
        raise DataAnomaliesError(f"The anomalies artifact at {anomalies.uri} holds no split: nothing was validated.")
    report = describe_anomalies(anomalies_by_split)
    if report:
        raise DataAnomaliesError(f"{report}\nAnomalies artifact: {anomalies.uri}")
