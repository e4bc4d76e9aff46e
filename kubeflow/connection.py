"""Reaching the Kubeflow Pipelines API, and turning its failures into one readable sentence each.

The KFP client retries an unreachable host for half a minute and then raises urllib3 or kfp_server_api
exceptions with raw HTTP dumps; a short health probe first and these translations give the user the host, the
step that failed and the server's own message instead.
"""
import contextlib
import json
import urllib.error
import urllib.request
from typing import Iterator, Mapping, Optional

import kfp_server_api
import urllib3

from kubeflow.errors import OptionError, ServerError
from kubeflow.sign_in import HOW_TO_SIGN_IN

HEALTHZ_PATH = "/apis/v2beta1/healthz"
PROBE_TIMEOUT_SECONDS = 10.0
SIGN_IN_STATUSES = (401, 403)  # Kubeflow's gateway (Istio, oauth2-proxy) answers these to requests it cannot place
_MESSAGE_LIMIT = 500


def normalize_host(host: str) -> str:
    """`host` without trailing slashes when it is an http(s) URL (the KFP UI or API endpoint)."""
    if not host.startswith(("http://", "https://")):
        raise OptionError(f"--host must be the Kubeflow Pipelines URL with its scheme, such as "
                          f"http://localhost:8080 (after `kubectl port-forward`), got {host!r}.")
    return host.rstrip("/")


def _sign_in_refused(host: str, what: str, status: int, reason: str, signed_in_with: str) -> str:
    """The one line for a 401/403: the host, what was refused, and the flags that sign in."""
    refused = f"Kubeflow Pipelines at {host} refused {what}: HTTP {status} {reason}"
    if signed_in_with:
        return (f"{refused} with {signed_in_with} (expired, or without access to this namespace?); "
                f"{HOW_TO_SIGN_IN}.")
    return f"{refused}, as a multi-user Kubeflow does without sign-in; {HOW_TO_SIGN_IN}."


def probe(host: str, headers: Optional[Mapping[str, str]] = None, signed_in_with: str = "",
          timeout_seconds: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Raises ServerError unless `host` answers the KFP v2 health check with JSON; `headers` sign in."""
    # Direct, like the KFP client (urllib3 ignores HTTP_PROXY): a probe through a proxy would test another route.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(host + HEALTHZ_PATH, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=timeout_seconds) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code in SIGN_IN_STATUSES:
            raise ServerError(_sign_in_refused(host, f"GET {HEALTHZ_PATH}", error.code, error.reason,
                                              signed_in_with)) from error
        raise ServerError(f"{host} answered HTTP {error.code} {error.reason} to GET {HEALTHZ_PATH}: it is not a "
                          "Kubeflow Pipelines v2 API endpoint (KFP 2.x serves the v2beta1 API).") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ServerError(f"Cannot reach Kubeflow Pipelines at {host}: {reason}. Check the URL, and that "
                          "`kubectl port-forward` (or your ingress) is running.") from error
    try:
        json.loads(body)
    except ValueError as error:
        raise ServerError(f"{host} answered GET {HEALTHZ_PATH} with something other than JSON (a login page?): "
                          f"point --host at the Kubeflow Pipelines API or UI service, or {HOW_TO_SIGN_IN}.") \
            from error


def _server_message(error: kfp_server_api.ApiException) -> str:
    body = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else str(error.body or "")
    try:
        payload = json.loads(body)
    except ValueError:
        return body.strip()[:_MESSAGE_LIMIT]
    if isinstance(payload, dict):
        return str(payload.get("message") or payload.get("error_message") or payload)[:_MESSAGE_LIMIT]
    return body.strip()[:_MESSAGE_LIMIT]


@contextlib.contextmanager
def translated_errors(host: str, step: str, signed_in_with: str = "") -> Iterator[None]:
    """Re-raises the KFP client's HTTP and connection errors during `step` as ServerError."""
    try:
        yield
    except kfp_server_api.ApiException as error:
        if error.status in SIGN_IN_STATUSES:
            raise ServerError(_sign_in_refused(host, f"to {step}", error.status, error.reason, signed_in_with)) \
                from error
        message = _server_message(error)
        raise ServerError(f"Kubeflow Pipelines at {host} refused to {step}: HTTP {error.status} {error.reason}"
                          + (f": {message}" if message else ".")) from error
    except urllib3.exceptions.HTTPError as error:
        raise ServerError(f"Lost the connection to Kubeflow Pipelines at {host} while trying to {step}: "
                          f"{error}.") from error
