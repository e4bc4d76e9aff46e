"""The data fingerprint: a root parameter whose value changes whenever the data folder does, for KFP's cache.

Open-source KFP keys a task's cache on its input parameters and input artifacts; ImageExampleGen has no input
artifact (it reads a folder) and KFP runs no ExampleGen driver, so without this parameter a changed folder would be
served from the cache. `submit` and `run-local` compute it from the folder's listing, never from the content, so a
bucket of any size costs a few list requests: each object's name below the data root, its size, and its ETag
(`s3://`, through boto3) or its modification time (`gs://` and paths, through `tf.io.gfile`).
"""
import dataclasses
import hashlib
import posixpath
import urllib.parse
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Tuple

from absl import logging

from kubeflow import object_storage
from kubeflow.errors import KubeflowError

if TYPE_CHECKING:  # the CLI reads PARAMETER for its help; the KFP SDK loads only when a package is read
    from kubeflow.package import PipelinePackage

PARAMETER = "data_fingerprint"
INPUT_BASE_PARAMETER = "input_base"  # the ExampleGen's data folder (TFX's standard_component_specs.INPUT_BASE_KEY)
_S3_ATTEMPTS = 2
_S3_CONNECT_TIMEOUT_SECONDS = 10


class FingerprintError(KubeflowError):
    """The data root could not be listed; the message says how to pass the fingerprint instead."""


@dataclasses.dataclass(frozen=True)
class ListedObject:
    """One file of the data folder as its listing shows it."""

    name: str  # posix path relative to the data root
    size: int  # bytes
    version: str  # the ETag, or the modification time in nanoseconds


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    value: str
    data_root: str
    objects: int


def fingerprint(objects: Iterable[ListedObject]) -> str:
    """`objects:N,sha256:HEX` over the sorted listing: the same listing, in any order, gives the same value."""
    lines = sorted(f"{listed.name}\0{listed.size}\0{listed.version}\n" for listed in objects)
    digest = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    return f"objects:{len(lines)},sha256:{digest}"


def _s3_client(environment: Mapping[str, str]):
    import boto3  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # pylint: disable=import-outside-toplevel

    return boto3.client(
        "s3", endpoint_url=environment.get("AWS_ENDPOINT_URL") or None,
        region_name=environment.get("AWS_DEFAULT_REGION") or environment.get("AWS_REGION") or None,
        aws_access_key_id=environment.get(object_storage.ACCESS_KEY_VARIABLE) or None,
        aws_secret_access_key=environment.get(object_storage.SECRET_KEY_VARIABLE) or None,
        verify=environment.get(object_storage.VERIFY_SSL_VARIABLE) != "0",
        config=Config(retries={"max_attempts": _S3_ATTEMPTS}, connect_timeout=_S3_CONNECT_TIMEOUT_SECONDS))


def _list_s3(data_root: str, environment: Mapping[str, str]) -> List[ListedObject]:
    from botocore import exceptions  # pylint: disable=import-outside-toplevel

    location = urllib.parse.urlsplit(data_root)
    prefix = location.path.strip("/") + "/" if location.path.strip("/") else ""
    try:
        pages = _s3_client(environment).get_paginator("list_objects_v2").paginate(Bucket=location.netloc,
                                                                                  Prefix=prefix)
        return [ListedObject(name=item["Key"][len(prefix):], size=item["Size"], version=item["ETag"].strip('"'))
                for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    except (exceptions.BotoCoreError, exceptions.ClientError) as error:
        endpoint = environment.get("AWS_ENDPOINT_URL") or "the AWS default endpoint"
        raise FingerprintError(
            f"Cannot list {data_root} at {endpoint} to fingerprint the data ({error}). Set AWS_ENDPOINT_URL and "
            f"the AWS keys to an S3 endpoint this machine reaches (for Kubeflow's MinIO: `kubectl port-forward -n "
            f"kubeflow svc/minio-service 9000:9000`, then http://127.0.0.1:9000), or pass "
            f"--parameter {PARAMETER}=VALUE.") from error


def _list_with_gfile(data_root: str) -> List[ListedObject]:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    root = data_root.rstrip("/")
    try:
        if not tf.io.gfile.isdir(root):
            raise FingerprintError(
                f"{data_root} is not a folder this machine can list, so its fingerprint cannot be computed here "
                f"(a path inside the task containers?); pass --parameter {PARAMETER}=VALUE, any value that changes "
                "when the data does.")
        listed = []
        for directory, _, files in tf.io.gfile.walk(root):
            relative = directory.rstrip("/")[len(root):].strip("/")
            for name in files:
                stat = tf.io.gfile.stat(posixpath.join(directory, name))
                listed.append(ListedObject(posixpath.join(relative, name), stat.length, str(stat.mtime_nsec)))
        return listed
    except tf.errors.OpError as error:
        raise FingerprintError(f"Cannot list {data_root} to fingerprint the data ({error.message}); pass "
                               f"--parameter {PARAMETER}=VALUE.") from error


def list_data_root(data_root: str, environment: Mapping[str, str]) -> List[ListedObject]:
    """Every object below `data_root`; `environment` holds the S3 endpoint and keys for `s3://` roots."""
    objects = _list_s3(data_root, environment) if data_root.startswith("s3://") else _list_with_gfile(data_root)
    if not objects:
        raise FingerprintError(f"{data_root} holds no files: the pipeline has no data to read there. Check the "
                               "package's --data-root and that the data was copied.")
    return objects


def _fingerprinted_task(package: "PipelinePackage") -> Tuple[str, str]:
    """(data root, executor label) of the task that takes the fingerprint parameter."""
    spec = package.pipeline_spec
    for name, task in spec.root.dag.tasks.items():
        inputs = task.inputs.parameters
        if any(value.component_input_parameter == PARAMETER for value in inputs.values()):
            if INPUT_BASE_PARAMETER not in inputs or not inputs[INPUT_BASE_PARAMETER].runtime_value.HasField(
                    "constant"):
                raise FingerprintError(f"Task {name} of {package.path!r} takes {PARAMETER} but has no constant "
                                       f"{INPUT_BASE_PARAMETER} to list; pass --parameter {PARAMETER}=VALUE.")
            executor_label = spec.components[task.component_ref.name].executor_label
            return inputs[INPUT_BASE_PARAMETER].runtime_value.constant.string_value, executor_label
    raise FingerprintError(f"{package.path!r} declares the root parameter {PARAMETER} but no task reads it.")


def complete_parameters(package: "PipelinePackage", given: Mapping[str, object],
                        shell_environment: Mapping[str, str]) -> Tuple[Dict[str, object], Optional[Fingerprint]]:
    """`given` plus the fingerprint of the package's data root, unless given or not declared (older packages).

    The data root is listed with the S3 endpoint compiled into its task's env, where this shell sets none.
    """
    if PARAMETER not in package.pipeline_spec.root.input_definitions.parameters or PARAMETER in given:
        return dict(given), None
    data_root, executor_label = _fingerprinted_task(package)
    container = package.deployment_config().executors[executor_label].container
    environment = object_storage.task_environment(container.env, shell_environment)
    objects = list_data_root(data_root, environment)
    value = fingerprint(objects)
    logging.info("Data fingerprint of %s (%d objects): %s", data_root, len(objects), value)
    return {**given, PARAMETER: value}, Fingerprint(value, data_root, len(objects))
