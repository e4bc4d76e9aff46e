"""Runs the pipeline on this machine with LocalDagRunner; the only place local paths are computed.

The local twin of kubeflow/: the same `create_pipeline`, with this machine's folders and ML Metadata in SQLite.

Layout under OUTPUT: `metadata.sqlite` (ML Metadata), `artifacts/` (every component's outputs),
`serving_model/<version>/` (the pushed SavedModel), `data/` (the synthesized default dataset) and
`schema/<digest>/schema.pbtxt` (the curated schema ImportSchemaGen imports, see `staged_schema`).
"""
import dataclasses
import hashlib
import os
from typing import List, Optional

from absl import logging
from tfx.dsl.compiler import compiler
from tfx.orchestration import metadata, pipeline as tfx_pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.proto.orchestration import pipeline_pb2

from pipeline import pipeline as pipeline_lib
from pipeline.experiment import ExperimentConfig
from pipeline.schema import SCHEMA_FILE

PIPELINE_NAME = "gc-tfx"


@dataclasses.dataclass(frozen=True)
class OutputLayout:
    """Where a local run keeps its files."""

    root: str

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.root, "metadata.sqlite")

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.root, "artifacts")

    @property
    def serving_model_dir(self) -> str:
        return os.path.join(self.root, "serving_model")

    @property
    def default_data_dir(self) -> str:
        return os.path.join(self.root, "data")

    @property
    def schema_dir(self) -> str:
        return os.path.join(self.root, "schema")


# Below this many files in the data folder, Beam runs in this process. Measured on 2 cores with the default data
# (1,283 images at 300 px): ImageExampleGen 24.9 s and StatisticsGen 17.5 s in-process, 39.1 s and 36.0 s on two
# worker processes, each of which first imports TensorFlow; workers pay off only once decoding (some 15 ms an image)
# outweighs that start-up, at a few thousand images.
IN_PROCESS_BELOW_FILES = 5_000


def default_beam_workers(data_root: str) -> int:
    """1 (Beam in this process) for a data folder of fewer than IN_PROCESS_BELOW_FILES files, else one per core."""
    files = 0
    for _, _, names in os.walk(data_root):
        files += len(names)
        if files >= IN_PROCESS_BELOW_FILES:
            return os.cpu_count() or 1
    return 1


def local_beam_pipeline_args(workers: int) -> List[str]:
    """Beam DirectRunner: `workers` processes (images are decoded in Python, so threads would share one core);
    1 runs in-process, which starts faster on tiny data."""
    if workers <= 1:
        return ["--direct_running_mode=in_memory"]
    return ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]


def staged_schema(layout: OutputLayout) -> str:
    """The curated schema, copied to OUTPUT/schema/<digest of its content>/; the path ImportSchemaGen is given.

    ImportSchemaGen's cache key holds the schema's path, not its content: a path into the checkout made every
    component retrain when the same output was used from another clone or a moved checkout, and an edited schema
    was still served from the cache. A path inside OUTPUT named by the content changes exactly when the schema does.
    """
    with open(SCHEMA_FILE, "rb") as stream:
        content = stream.read()
    path = os.path.join(layout.schema_dir, hashlib.sha256(content).hexdigest()[:16], os.path.basename(SCHEMA_FILE))
    if not os.path.isfile(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(f"{path}.partial", "wb") as stream:
            stream.write(content)
        os.replace(f"{path}.partial", path)  # never a half-written schema at the path a cached run names
    return os.path.abspath(path)


def build_pipeline(*, data_root: str, layout: OutputLayout, experiment: ExperimentConfig, enable_cache: bool,
                   beam_workers: int) -> tfx_pipeline.Pipeline:
    """The pipeline with this machine's folders, every one of them under OUTPUT except the data folder, so that its
    cache does not depend on where the checkout lives."""
    return pipeline_lib.create_pipeline(
        pipeline_name=PIPELINE_NAME,
        pipeline_root=os.path.abspath(layout.pipeline_root),
        data_root=os.path.abspath(data_root),
        schema_path=staged_schema(layout),
        serving_model_dir=os.path.abspath(layout.serving_model_dir),
        experiment=experiment,
        enable_cache=enable_cache,
        beam_pipeline_args=local_beam_pipeline_args(beam_workers),
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            os.path.abspath(layout.metadata_path)),
    )


def run_locally(*, data_root: str, layout: OutputLayout, experiment: ExperimentConfig, enable_cache: bool = True,
                beam_workers: Optional[int] = None) -> None:
    """Builds and runs the pipeline; raises the failing component's exception. `beam_workers` None: chosen from
    the data folder's size (default_beam_workers)."""
    os.makedirs(layout.root, exist_ok=True)
    if beam_workers is None:
        beam_workers = default_beam_workers(data_root)
    logging.info("Beam DirectRunner: %s.", "in this process" if beam_workers <= 1 else f"{beam_workers} workers")
    pipeline = build_pipeline(data_root=data_root, layout=layout, experiment=experiment, enable_cache=enable_cache,
                              beam_workers=beam_workers)
    logging.info("Running %s with artifacts in %s", PIPELINE_NAME, layout.pipeline_root)
    LocalDagRunner().run_with_ir(compile_pipeline(pipeline))


def compile_pipeline(pipeline: tfx_pipeline.Pipeline) -> pipeline_pb2.Pipeline:
    """The pipeline's IR, compiled as LocalDagRunner.run does (less its packaging of components' pip
    dependencies, which none of ours declares), with the cache off for `pipeline_lib.ALWAYS_RUN` (TFX switches
    caching per pipeline only)."""
    ir = compiler.Compiler().compile(pipeline)
    for node in ir.nodes:
        if node.pipeline_node.node_info.id in pipeline_lib.ALWAYS_RUN:
            node.pipeline_node.execution_options.caching_options.enable_cache = False
    return ir
