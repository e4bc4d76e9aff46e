"""How `submit` signs in to a Kubeflow Pipelines API: a bearer token, a session cookie, or the pod's token.

Multi-user Kubeflow refuses anonymous API calls. kfp 2.5's client takes each way through its own arguments:
`existing_token` (e.g. `kubectl -n NAMESPACE create token default-editor`), `cookies` (the Cookie header of a
signed-in browser behind Dex or oauth2-proxy), and `credentials=ServiceAccountTokenVolumeCredentials()`, which
reads the projected token a Kubeflow pod has at KF_PIPELINES_SA_TOKEN_PATH (default below). The health probe
that runs before the client sends the same headers.
"""
import dataclasses
import os
from typing import Any, Dict, Mapping, Optional

from kfp import client as kfp_client

from kubeflow.errors import OptionError

SERVICE_ACCOUNT_TOKEN_VARIABLE = kfp_client.KF_PIPELINES_SA_TOKEN_ENV
DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH = kfp_client.KF_PIPELINES_SA_TOKEN_PATH
HOW_TO_SIGN_IN = ("sign in with --token-file FILE (a token from `kubectl -n NAMESPACE create token default-editor`) "
                  "or --cookies 'authservice_session=...' (Dex) / 'oauth2_proxy_kubeflow=...' (oauth2-proxy), "
                  "copied from a signed-in browser")


def _read_token(path: str, source: str) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            token = stream.read().strip()
    except OSError as error:
        raise OptionError(f"Cannot read the token file {path!r} ({source}): {error.strerror}.") from error
    if not token:
        raise OptionError(f"The token file {path!r} ({source}) is empty.")
    return token


@dataclasses.dataclass(frozen=True)
class SignIn:
    """What the client sends; all empty: nothing (a single-user KFP, or a port-forward to the API service)."""

    token: Optional[str] = None  # a bearer token, from --token-file
    cookies: Optional[str] = None  # a Cookie header value
    service_account_token_path: Optional[str] = None  # read on every request: the kubelet refreshes the file
    token_source: str = ""  # where the bearer token came from, for messages

    def client_arguments(self) -> Dict[str, Any]:
        """kfp.Client's keyword arguments for this sign-in."""
        arguments: Dict[str, Any] = {}
        if self.token:
            arguments["existing_token"] = self.token
        elif self.service_account_token_path:
            arguments["credentials"] = kfp_client.ServiceAccountTokenVolumeCredentials(
                self.service_account_token_path)
        if self.cookies:
            arguments["cookies"] = self.cookies
        return arguments

    def headers(self) -> Dict[str, str]:
        """The HTTP headers the client will send, for requests made without it."""
        headers = {}
        token = self.token or (self.service_account_token_path and _read_token(
            self.service_account_token_path, "the service-account token"))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.cookies:
            headers["Cookie"] = self.cookies
        return headers

    def described(self) -> str:
        """How it signed in, for a refusal's message ("" when it sent nothing)."""
        parts = [self.token_source] if self.token or self.service_account_token_path else []
        if self.cookies:
            parts.append("the --cookies session")
        return " and ".join(parts)


def sign_in_from(token_file: Optional[str], cookies: Optional[str],
                 environment: Mapping[str, str] = os.environ) -> SignIn:
    """The sign-in the flags ask for; without --token-file, the service-account token where this runs in a pod."""
    if cookies is not None and not cookies.strip():
        raise OptionError("--cookies must be a Cookie header value such as 'authservice_session=...', got an "
                          "empty one.")
    cookies = cookies.strip() if cookies else None
    if token_file:
        return SignIn(token=_read_token(token_file, "--token-file"), cookies=cookies,
                      token_source=f"the token in {token_file}")
    configured = environment.get(SERVICE_ACCOUNT_TOKEN_VARIABLE)
    if configured and not os.path.isfile(configured):
        raise OptionError(f"{SERVICE_ACCOUNT_TOKEN_VARIABLE} is {configured!r}, which is not a file; unset it or "
                          "point it at the pod's Kubeflow Pipelines token.")
    path = configured or DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH
    if os.path.isfile(path):
        return SignIn(cookies=cookies, service_account_token_path=path,
                      token_source=f"the service-account token in {path}")
    return SignIn(cookies=cookies)
