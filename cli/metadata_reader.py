"""Reads the latest local run back from ML Metadata: which node ran, how it ended, what it produced.

The run summary, the HTML report and the end-to-end tests all ask ML Metadata rather than guessing paths,
so they describe exactly what TFX recorded (including executions served from the cache).
"""
import collections
import dataclasses
from typing import Dict, List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

_PIPELINE_RUN_CONTEXT = "pipeline_run"
_NODE_CONTEXT = "node"
_EXECUTION_STATES = metadata_store_pb2.Execution.State


@dataclasses.dataclass(frozen=True)
class NodeExecution:
    """One component's execution in a run, with its output artifacts by output key."""

    node_id: str
    state: str  # COMPLETE, CACHED, FAILED, RUNNING, ...
    execution: metadata_store_pb2.Execution
    outputs: Dict[str, List[metadata_store_pb2.Artifact]]

    def output(self, key: str) -> metadata_store_pb2.Artifact:
        artifacts = self.outputs.get(key, [])
        if len(artifacts) != 1:
            raise LookupError(f"{self.node_id} has {len(artifacts)} artifacts for output '{key}', expected 1.")
        return artifacts[0]


def open_store(sqlite_path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = sqlite_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def _latest_run_context(store: metadata_store.MetadataStore) -> Optional[metadata_store_pb2.Context]:
    runs = store.get_contexts_by_type(_PIPELINE_RUN_CONTEXT)
    return max(runs, key=lambda context: (context.create_time_since_epoch, context.id), default=None)


def _node_id(store: metadata_store.MetadataStore, execution_id: int, node_type_id: int) -> str:
    for context in store.get_contexts_by_execution(execution_id):
        if context.type_id == node_type_id:
            return context.name.split(".", 1)[-1]  # node contexts are named "<pipeline>.<node id>"
    raise LookupError(f"Execution {execution_id} has no node context.")


def latest_run(store: metadata_store.MetadataStore) -> Dict[str, NodeExecution]:
    """Executions of the most recent pipeline run by node id (the last execution when a node ran twice)."""
    run = _latest_run_context(store)
    if run is None:
        return {}
    node_type_id = store.get_context_type(_NODE_CONTEXT).id
    executions = sorted(store.get_executions_by_context(run.id), key=lambda execution: execution.id)
    outputs: Dict[int, Dict[str, List[int]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for event in store.get_events_by_execution_ids([execution.id for execution in executions]):
        if event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT):
            key = next((step.key for step in event.path.steps if step.HasField("key")), "")
            outputs[event.execution_id][key].append(event.artifact_id)
    artifact_ids = {artifact_id for by_key in outputs.values() for ids in by_key.values() for artifact_id in ids}
    artifacts = {artifact.id: artifact for artifact in store.get_artifacts_by_id(sorted(artifact_ids))}
    nodes = {}
    for execution in executions:
        node_id = _node_id(store, execution.id, node_type_id)
        nodes[node_id] = NodeExecution(
            node_id=node_id,
            state=_EXECUTION_STATES.Name(execution.last_known_state),
            execution=execution,
            outputs={key: [artifacts[artifact_id] for artifact_id in ids]
                     for key, ids in outputs[execution.id].items()},
        )
    return nodes


def custom_property(artifact: metadata_store_pb2.Artifact, name: str, default=None):
    """A custom property's value whatever its type (TFX writes ints, strings, doubles and protos)."""
    if name not in artifact.custom_properties:
        return default
    value = artifact.custom_properties[name]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else default
