"""S3 object storage (Kubeflow's MinIO) wired into every task at compile time: endpoint in the env, keys from a secret.

A TFX task opens `s3://` through two clients, and each reads its own variables:
- TensorFlow's filesystem from tensorflow-io 0.37.1 (`core/filesystems/s3/s3_filesystem.cc`): `S3_ENDPOINT`, handed
  to the AWS SDK's `OverrideEndpoint`, which keeps the URL's scheme (that release reads no `S3_USE_HTTPS`), and
  `S3_VERIFY_SSL`; the AWS SDK reads the region from `AWS_REGION`/`AWS_DEFAULT_REGION`.
- Beam's filesystem through boto3: botocore (>= 1.31; the lock has 1.44) reads `AWS_ENDPOINT_URL` and
  `AWS_DEFAULT_REGION`.
Both take the keys from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, which the package maps from a Kubernetes secret
(KFP's platform spec, `secretAsEnv`) so that no key is ever written into it.
"""
import dataclasses
import re
import urllib.parse
from typing import Any, Dict, Iterable, List, Mapping, Optional

from kubeflow.errors import OptionError

ENDPOINT_VARIABLES = ("S3_ENDPOINT", "AWS_ENDPOINT_URL")
VERIFY_SSL_VARIABLE = "S3_VERIFY_SSL"
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
ACCESS_KEY_VARIABLE = "AWS_ACCESS_KEY_ID"
SECRET_KEY_VARIABLE = "AWS_SECRET_ACCESS_KEY"
# As MinIO's `mlpipeline-minio-artifact` secret, which multi-user Kubeflow puts in every profile namespace, has them.
DEFAULT_ACCESS_KEY_FIELD = "accesskey"
DEFAULT_SECRET_KEY_FIELD = "secretkey"
# MinIO ignores the region, but both clients sign requests with one.
DEFAULT_REGION = "us-east-1"
PLATFORM = "kubernetes"

# Kubernetes' rules for a secret's name (a DNS subdomain) and for the keys in it.
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_NAME_LIMIT = 253


def _check_endpoint(endpoint: str) -> str:
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query \
            or parts.fragment or parts.username:
        raise OptionError(f"--s3-endpoint must be the S3 server's URL with its scheme and nothing after the port, "
                          f"such as http://minio-service.kubeflow:9000; got {endpoint!r}.")
    return endpoint.rstrip("/")


def _check_secret_name(name: str) -> str:
    if len(name) > _NAME_LIMIT or not _SECRET_NAME.match(name):
        raise OptionError(f"--s3-credentials-secret must be a Kubernetes secret name (lower-case letters, digits, "
                          f"'-' and '.'), got {name!r}.")
    return name


def _check_secret_key(flag: str, key: str) -> str:
    if len(key) > _NAME_LIMIT or not _SECRET_KEY.match(key):
        raise OptionError(f"{flag} must be a key of a Kubernetes secret (letters, digits, '-', '_' and '.'), "
                          f"got {key!r}.")
    return key


@dataclasses.dataclass(frozen=True)
class ObjectStorage:
    """Where the tasks' S3 server is and which secret holds its keys; all None: the cluster provides both."""

    endpoint: Optional[str] = None  # http(s)://HOST[:PORT]
    credentials_secret: Optional[str] = None  # a secret in the run's namespace
    access_key_field: Optional[str] = None  # None: DEFAULT_ACCESS_KEY_FIELD
    secret_key_field: Optional[str] = None  # None: DEFAULT_SECRET_KEY_FIELD
    region: Optional[str] = None  # None: DEFAULT_REGION with an endpoint, else the clients' own default

    def __post_init__(self) -> None:
        if self.endpoint is not None:
            object.__setattr__(self, "endpoint", _check_endpoint(self.endpoint))
        if self.credentials_secret is None:
            given = [flag for flag, value in (("--s3-access-key-field", self.access_key_field),
                                              ("--s3-secret-key-field", self.secret_key_field)) if value is not None]
            if given:
                raise OptionError(f"{' and '.join(given)} name keys of the secret --s3-credentials-secret; pass "
                                  "that too.")
            return
        _check_secret_name(self.credentials_secret)
        object.__setattr__(self, "access_key_field", _check_secret_key(
            "--s3-access-key-field", self.access_key_field or DEFAULT_ACCESS_KEY_FIELD))
        object.__setattr__(self, "secret_key_field", _check_secret_key(
            "--s3-secret-key-field", self.secret_key_field or DEFAULT_SECRET_KEY_FIELD))
        if self.access_key_field == self.secret_key_field:
            raise OptionError(f"--s3-access-key-field and --s3-secret-key-field must differ, both are "
                              f"{self.access_key_field!r}.")

    def container_env(self) -> List[Dict[str, str]]:
        """`deploymentSpec.executors.<label>.container.env` of every executor: endpoint, TLS checking, region."""
        variables: Dict[str, str] = {}
        if self.endpoint:
            variables.update({name: self.endpoint for name in ENDPOINT_VARIABLES})
            variables[VERIFY_SSL_VARIABLE] = "1" if self.endpoint.startswith("https://") else "0"
        region = self.region or (DEFAULT_REGION if self.endpoint else None)
        if region:
            variables.update({name: region for name in REGION_VARIABLES})
        return [{"name": name, "value": value} for name, value in variables.items()]

    def executor_config(self) -> Optional[Dict[str, Any]]:
        """One executor's entry in the platform spec (kfp-kubernetes' KubernetesExecutorConfig), None without
        a secret."""
        if not self.credentials_secret:
            return None
        return {"secretAsEnv": [{"secretName": self.credentials_secret, "keyToEnv": [
            {"secretKey": self.access_key_field, "envVar": ACCESS_KEY_VARIABLE},
            {"secretKey": self.secret_key_field, "envVar": SECRET_KEY_VARIABLE}]}]}


def wire_into(spec: Dict[str, Any], storage: ObjectStorage) -> Optional[Dict[str, Any]]:
    """Adds `storage`'s env to every container executor of the pipeline spec `spec` (a dict, changed in place);
    returns the platform-spec document that maps the secret onto each of them, or None without a secret."""
    # Each executor gets its own copies: shared objects would be written as YAML anchors and aliases.
    executors = {label: executor for label, executor in spec["deploymentSpec"]["executors"].items()
                 if "container" in executor}
    added = {variable["name"] for variable in storage.container_env()}
    if added:
        for executor in executors.values():
            kept = [variable for variable in executor["container"].get("env", []) if variable["name"] not in added]
            executor["container"]["env"] = kept + storage.container_env()
    if storage.executor_config() is None:
        return None
    return {"platforms": {PLATFORM: {"deploymentSpec": {"executors": {
        label: storage.executor_config() for label in sorted(executors)}}}}}


def secret_variables(executor_config: Mapping[str, Any]) -> Dict[str, List[str]]:
    """{secret name: the variables it fills} for one executor's KubernetesExecutorConfig (as a dict)."""
    variables: Dict[str, List[str]] = {}
    for secret in executor_config.get("secretAsEnv", []):
        variables.setdefault(secret["secretName"], []).extend(entry["envVar"] for entry in secret.get("keyToEnv", []))
    return variables


def task_environment(container_env: Iterable[Any], shell: Mapping[str, str]) -> Dict[str, str]:
    """What a task started on this machine sees: the compiled env (`{name, value}` protos) under this shell's values.

    The shell wins: on this machine the compiled endpoint (a cluster's DNS name) may not resolve, and the keys,
    which the cluster takes from a secret, can only come from the shell.
    """
    return {**{variable.name: variable.value for variable in container_env}, **shell}
