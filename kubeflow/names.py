"""Names Kubeflow accepts for a pipeline: the KFP API server's pipelineInfo.name rule, and Argo's for workflows.

Both the compile options and the package check use it, so a name compile accepts is one submit and the server
accept too.
"""
import re

_PIPELINE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PIPELINE_NAME_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit"


def is_valid_pipeline_name(name: str) -> bool:
    return bool(_PIPELINE_NAME.match(name))
