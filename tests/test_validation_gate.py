"""The curated schema and DataValidationGate: the report text, and real pipelines that pass and that stop."""
import os

import pytest
from google.protobuf import text_format
from tfx import v1 as tfx
from tfx.orchestration import metadata
from tfx.types import artifact_utils, standard_artifacts

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

import image_fixtures
from components.image_example_gen.component import ImageExampleGen
from components.validation_gate import DataAnomaliesError, DataValidationGate, describe_anomalies
from report.data_statistics import load_anomaly_protos
from pipeline.schema import SCHEMA_FILE
from cli import metadata_reader
from trainer.features import FILENAME_KEY, IMAGE_KEY, LABEL_KEY


def _anomalies(**short_descriptions: str) -> anomalies_pb2.Anomalies:
    anomalies = anomalies_pb2.Anomalies()
    for feature, short_description in short_descriptions.items():
        info = anomalies.anomaly_info[feature]
        info.short_description = short_description
        info.description = f"{short_description}, in detail."
    return anomalies


# ---- the curated schema ------------------------------------------------------------------------------------

def _read_schema() -> schema_pb2.Schema:
    with open(SCHEMA_FILE) as stream:
        return text_format.Parse(stream.read(), schema_pb2.Schema())


def test_schema_requires_exactly_one_value_of_each_feature():
    features = {feature.name: feature for feature in _read_schema().feature}
    assert set(features) == {IMAGE_KEY, LABEL_KEY, FILENAME_KEY}
    for feature in features.values():
        assert feature.presence.min_fraction == 1.0 and feature.presence.min_count == 1, feature.name
        assert [dim.size for dim in feature.shape.dim] == [1], feature.name
    assert features[IMAGE_KEY].type == schema_pb2.BYTES
    assert features[FILENAME_KEY].type == schema_pb2.BYTES
    assert features[LABEL_KEY].type == schema_pb2.INT
    assert (features[LABEL_KEY].int_domain.min, features[LABEL_KEY].int_domain.max) == (0, 1)


# ---- the report --------------------------------------------------------------------------------------------

def test_no_anomalies_give_an_empty_report():
    assert describe_anomalies({"train": anomalies_pb2.Anomalies(), "eval": anomalies_pb2.Anomalies()}) == ""


def test_report_lists_each_split_and_feature_with_its_short_description():
    dataset_level = anomalies_pb2.Anomalies()
    dataset_level.dataset_anomaly_info.short_description = "Low num examples in dataset."
    dataset_level.dataset_anomaly_info.description = "The dataset has 0 examples."
    report = describe_anomalies({
        "train": _anomalies(label="Out-of-range values", caption="Column dropped"),
        "eval": anomalies_pb2.Anomalies(),
        "test": dataset_level,
    })
    assert report.splitlines() == [
        "Data validation failed: ExampleValidator found anomalies in 2 of 3 split(s) against the schema.",
        "  split 'test':",
        "    - (whole dataset): Low num examples in dataset. (The dataset has 0 examples.)",
        "  split 'train':",
        "    - caption: Column dropped (Column dropped, in detail.)",
        "    - label: Out-of-range values (Out-of-range values, in detail.)",
        "Fix the data, or update the curated schema if the change is intended.",
    ]


def test_load_anomalies_reads_every_split_of_the_artifact(tmp_path):
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(tmp_path)
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    written = {"train": _anomalies(label="Out-of-range values"), "eval": anomalies_pb2.Anomalies()}
    for split, anomalies in written.items():
        os.makedirs(tmp_path / f"Split-{split}")
        (tmp_path / f"Split-{split}" / "SchemaDiff.pb").write_bytes(anomalies.SerializeToString())
    assert load_anomaly_protos(artifact) == written


# ---- end to end: ExampleGen -> StatisticsGen -> ImportSchemaGen -> ExampleValidator -> DataValidationGate ----

def _run_validation_pipeline(data: str, workdir: str, schema_file: str) -> None:
    example_gen = ImageExampleGen(input_base=data, eval_percent=25)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=schema_file)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    gate = DataValidationGate(anomalies=example_validator.outputs["anomalies"])
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="validation_gate_test",
        pipeline_root=os.path.join(workdir, "root"),
        components=[example_gen, statistics_gen, schema_gen, example_validator, gate],
        enable_cache=True,  # the second run reuses ExampleGen and StatisticsGen: only the schema differs
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            os.path.join(workdir, "metadata.sqlite")))
    tfx.orchestration.LocalDagRunner().run(pipeline)


def _gate_state(workdir: str) -> str:
    nodes = metadata_reader.latest_run(metadata_reader.open_store(os.path.join(workdir, "metadata.sqlite")))
    return nodes["DataValidationGate"].state


@pytest.mark.e2e
def test_gate_passes_clean_data_and_stops_on_anomalies_with_a_readable_message(tmp_path):
    data, workdir = str(tmp_path / "data"), str(tmp_path)
    image_fixtures.write_clean_data_folder(data, train_per_class=8, test_per_class=2)

    _run_validation_pipeline(data, workdir, SCHEMA_FILE)
    assert _gate_state(workdir) == "COMPLETE"

    schema = _read_schema()
    caption = schema.feature.add(name="caption", type=schema_pb2.BYTES)
    caption.presence.min_fraction = 1.0
    strict_schema = tmp_path / "strict_schema" / "schema.pbtxt"
    strict_schema.parent.mkdir()
    strict_schema.write_text(text_format.MessageToString(schema))
    with pytest.raises(DataAnomaliesError) as error:
        _run_validation_pipeline(data, workdir, str(strict_schema))
    message = str(error.value)
    assert message.startswith("Data validation failed: ExampleValidator found anomalies in 3 of 3 split(s)")
    for split in ("train", "eval", "test"):
        assert f"  split '{split}':\n    - caption: Column dropped (" in message
    assert "Anomalies artifact: " in message
