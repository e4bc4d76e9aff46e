"""The Kubeflow Pipelines UI's own artifact types as TFX artifact classes: `system.HTML`, `system.Markdown`,
`system.Metrics` and `system.ClassificationMetrics`.

The KFP UI picks what to render by an artifact's type name, and TFX's Kubeflow entrypoint imports a custom type's
schema title as a Python class path, so the classes must be importable as exactly `system.<Name>`: hence a
top-level module of this name in every task's image. HTML and Markdown are single files (the UI reads the object
at the artifact's URI itself); the metrics types carry their numbers as custom properties.
"""
from tfx.types import artifact, standard_artifact_utils, value_artifact

_TFX_VERSION = standard_artifact_utils.ARTIFACT_TFX_VERSION_CUSTOM_PROPERTY_KEY


class _TextFile(value_artifact.ValueArtifact):
    """A UTF-8 text file at the artifact's URI (a value artifact, so runners create a file there, not a folder)."""

    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, serialized_value: bytes) -> str:
        return serialized_value.decode("utf-8")


class HTML(_TextFile):
    """A page the KFP UI shows in a sandboxed iframe (nothing relative resolves: embed images as data: URIs)."""

    TYPE_NAME = "system.HTML"


class Markdown(_TextFile):
    TYPE_NAME = "system.Markdown"


class _MetricsArtifact(artifact.Artifact):
    """Every custom property but `display_name` becomes a row in the KFP UI, so the TFX version TFX stamps on every
    output (only when it is absent) is reported as present and never written."""

    def has_custom_property(self, key: str) -> bool:
        return key == _TFX_VERSION or super().has_custom_property(key)


class Metrics(_MetricsArtifact):
    """Scalar metrics (finite numbers) for the run page and Compare runs."""

    TYPE_NAME = "system.Metrics"


class ClassificationMetrics(_MetricsArtifact):
    """`confusionMatrix` and `confidenceMetrics` (an ROC), in the shapes the kfp SDK's loggers write."""

    TYPE_NAME = "system.ClassificationMetrics"
