"""Locations a Kubeflow task can read: object-store URIs, or absolute paths inside the task's container.

Compiled values are baked into the package and resolved on the cluster, never on this machine, so a relative path
(relative to what?) or a file:// URI is always a mistake there.
"""
import posixpath
import re

from kubeflow.errors import OptionError

_URI = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>[^/\s].*)$")


def _scheme(location: str) -> str:
    match = _URI.match(location)
    return match.group("scheme") if match else ""


def require_bucket_uri(flag: str, location: str) -> str:
    """`location` without a trailing slash when it is an object-store URI such as gs://BUCKET/PATH.

    KFP v2 writes every task's outputs below the pipeline root through its launcher, which only knows buckets.
    """
    scheme = _scheme(location)
    if not scheme or scheme == "file":
        raise OptionError(
            f"{flag} must be an object-store URI that every task can write, such as gs://BUCKET/PATH; got "
            f"{location!r}. Kubeflow keeps each task's outputs below it, so a path on this machine cannot work.")
    return location.rstrip("/")


def require_cluster_location(flag: str, location: str) -> str:
    """`location` without a trailing slash when it is a URI or an absolute path inside the task containers."""
    scheme = _scheme(location)
    if scheme == "file" or (not scheme and not location.startswith("/")):
        raise OptionError(
            f"{flag} must be a URI such as gs://BUCKET/PATH, or an absolute path inside the task containers (in "
            f"the image or on a mounted volume); got {location!r}, which only means something on this machine.")
    return location.rstrip("/") or "/"


def join(root: str, *parts: str) -> str:
    """`root`/`parts`, for URIs and POSIX paths alike (never os.path: the cluster is POSIX whatever runs this)."""
    return posixpath.join(root, *parts)
