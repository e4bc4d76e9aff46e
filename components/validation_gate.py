"""DataValidationGate: stops the run when ExampleValidator found anomalies, which ExampleValidator never does.

Wire it after ExampleValidator and make the first consumer of the examples wait for it, e.g.
`transform.add_upstream_node(gate)`: standard components take no extra inputs, so an explicit dependency is the
way to make them wait.
"""
from typing import List, Mapping

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from report import data_statistics


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


@component
def DataValidationGate(  # pylint: disable=invalid-name  (TFX component classes are CamelCase)
        anomalies: InputArtifact[standard_artifacts.ExampleAnomalies]) -> None:
    """Raises DataAnomaliesError listing each split's anomalies; passes when every split is clean."""
    anomalies_by_split = data_statistics.load_anomaly_protos(anomalies)
    if not anomalies_by_split:
        raise DataAnomaliesError(f"The anomalies artifact at {anomalies.uri} holds no split: nothing was validated.")
    report = describe_anomalies(anomalies_by_split)
    if report:
        raise DataAnomaliesError(f"{report}\nAnomalies artifact: {anomalies.uri}")
