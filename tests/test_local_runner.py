"""The local runner's pipeline names no path of the checkout, so its cache survives a move or a second clone."""
import os

import local_runner
from pipeline.experiment import ExperimentConfig
from pipeline.schema import SCHEMA_FILE

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_compiled_pipeline_names_no_path_of_the_checkout(tmp_path):
    layout = local_runner.OutputLayout(str(tmp_path / "output"))
    pipeline = local_runner.build_pipeline(data_root=str(tmp_path / "data"), layout=layout,
                                           experiment=ExperimentConfig(seed_count=2), enable_cache=True,
                                           beam_workers=2)
    ir = local_runner.compile_pipeline(pipeline)
    assert REPOSITORY not in str(ir)
    [schema_gen] = [node.pipeline_node for node in ir.nodes if node.pipeline_node.node_info.id == "ImportSchemaGen"]
    staged = schema_gen.parameters.parameters["schema_file"].field_value.string_value
    assert staged.startswith(os.path.abspath(layout.schema_dir) + os.sep)
    with open(staged, "rb") as copy, open(SCHEMA_FILE, "rb") as original:
        assert copy.read() == original.read()


def test_the_staged_schema_moves_exactly_when_its_content_changes(tmp_path, monkeypatch):
    layout = local_runner.OutputLayout(str(tmp_path / "output"))
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "image" type: BYTES }\n')
    monkeypatch.setattr(local_runner, "SCHEMA_FILE", str(schema))
    first = local_runner.staged_schema(layout)
    assert local_runner.staged_schema(layout) == first
    schema.write_text('feature { name: "label" type: INT }\n')
    second = local_runner.staged_schema(layout)
    assert second != first and os.path.dirname(os.path.dirname(second)) == os.path.abspath(layout.schema_dir)
    with open(first, encoding="utf-8") as kept:
        assert "image" in kept.read()  # a cached run's schema stays as it was
