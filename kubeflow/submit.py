"""Uploads a compiled package to Kubeflow Pipelines and starts a run through `kfp.Client` (the v2beta1 API),
signed in as `sign_in.SignIn` says.

The package becomes the pipeline named by its pipelineInfo.name, or a new version of it when that pipeline already
exists (the server keeps names unique), and the run starts from that version, so the UI shows which package each
run used. The run's pipeline root is the flag, else the root the package was compiled with.
"""
import contextlib
import dataclasses
import datetime
import functools
import io
import time
import warnings
from typing import Any, Callable, Iterator, Mapping, Optional, Tuple

import kfp
from absl import logging
from google.protobuf import json_format

from kubeflow import connection, uris
from kubeflow import package as package_lib
from kubeflow.errors import ServerError
from kubeflow.sign_in import SignIn

FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"})
_DESCRIPTION = "gc-tfx: one CNN trained with and without Gradient Centralization; the better model is pushed."


@dataclasses.dataclass(frozen=True)
class SubmittedRun:
    """Where the run lives on the server. `pipeline_root` is "" when the cluster's default root applies."""

    run_id: str
    run_url: str
    pipeline_id: str
    pipeline_version_id: str
    experiment_id: str
    pipeline_root: str


@dataclasses.dataclass(frozen=True)
class FinishedRun:
    state: str  # one of FINAL_STATES
    error_message: str  # the server's explanation when the run did not succeed, else ""


@contextlib.contextmanager
def _client_output_to_log() -> Iterator[None]:
    """The KFP client prints "... details: URL" lines of its own; keep them for --verbose, not for stdout."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        yield
    for line in printed.getvalue().splitlines():
        logging.info("kfp: %s", line)


class Submitter:
    """Talks to one Kubeflow Pipelines endpoint; connects (and fails fast when unreachable) on first use."""

    def __init__(self, host: str, namespace: Optional[str] = None, sign_in: SignIn = SignIn()):
        self._host = connection.normalize_host(host)
        self._namespace = namespace
        self._sign_in = sign_in

    @functools.cached_property
    def _client(self) -> Any:
        connection.probe(self._host, self._sign_in.headers(), self._sign_in.described())
        with warnings.catch_warnings(), _client_output_to_log(), \
                connection.translated_errors(self._host, "report its health", self._sign_in.described()):
            warnings.simplefilter("ignore", FutureWarning)  # "This client only works with KFP v2.0.0-beta.2+"
            return kfp.Client(host=self._host, namespace=self._namespace or "kubeflow",
                              **self._sign_in.client_arguments())

    def run_url(self, run_id: str) -> str:
        return f"{self._host}/#/runs/details/{run_id}"

    def _call(self, step: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with _client_output_to_log(), connection.translated_errors(self._host, step, self._sign_in.described()):
            return function(*args, **kwargs)

    def _upload(self, package: package_lib.PipelinePackage, version_name: str) -> Tuple[str, str]:
        """(pipeline id, version id) of the uploaded package."""
        pipeline_id = self._call(f"look up pipeline {package.name!r}", self._client.get_pipeline_id, package.name)
        if pipeline_id is None:
            pipeline = self._call("upload the package", self._client.upload_pipeline, package.path,
                                  pipeline_name=package.name, description=_DESCRIPTION)
            versions = self._call(f"list the versions of pipeline {pipeline.pipeline_id}",
                                  self._client.list_pipeline_versions, pipeline.pipeline_id, page_size=1,
                                  sort_by="created_at desc").pipeline_versions
            if not versions:
                raise ServerError(f"Kubeflow Pipelines at {self._host} created pipeline {pipeline.pipeline_id} "
                                  "from the package but lists no version of it.")
            return pipeline.pipeline_id, versions[0].pipeline_version_id
        version = self._call(f"upload the package as a new version of pipeline {package.name!r}",
                             self._client.upload_pipeline_version, package.path, version_name,
                             pipeline_id=pipeline_id, description=_DESCRIPTION)
        return pipeline_id, version.pipeline_version_id

    def submit(self, package_path: str, *, experiment: Optional[str] = None, run_name: Optional[str] = None,
               pipeline_root: Optional[str] = None, parameters: Optional[Mapping[str, object]] = None) -> SubmittedRun:
        """Checks the package as the server will, uploads it, and starts a run in `experiment` (default: the
        pipeline's name) with the pipeline root and a value for every root parameter: a YAML package has no
        runtime config, and the server refuses a parameter with neither a default nor a value."""
        package = package_lib.read_package(package_path)
        package_lib.check_kfp_accepts(package)
        values = {name: json_format.MessageToDict(value)
                  for name, value in package_lib.root_parameters(package, parameters).items()}
        root = (uris.require_bucket_uri("--pipeline-root", pipeline_root) if pipeline_root
                else package.default_pipeline_root)
        now = datetime.datetime.now(datetime.timezone.utc)
        pipeline_id, version_id = self._upload(package, f"{package.name}-{now:%Y%m%d-%H%M%S}")
        experiment = experiment or package.name
        experiment_id = self._call(f"find or create experiment {experiment!r}", self._client.create_experiment,
                                   name=experiment, namespace=self._namespace).experiment_id
        run = self._call("start the run", self._client.run_pipeline, experiment_id=experiment_id,
                         job_name=run_name or f"{package.name} {now:%Y-%m-%d %H:%M:%S}", pipeline_id=pipeline_id,
                         version_id=version_id, pipeline_root=root or None, params=values)
        return SubmittedRun(run_id=run.run_id, run_url=self.run_url(run.run_id), pipeline_id=pipeline_id,
                            pipeline_version_id=version_id, experiment_id=experiment_id, pipeline_root=root)

    def wait(self, run_id: str, *, timeout_seconds: float, poll_seconds: float = 15.0,
             on_state: Callable[[str], None] = lambda state: None) -> FinishedRun:
        """Polls the run until it reaches a final state; `on_state` hears each new state. ServerError on timeout.

        Not `kfp.Client.wait_for_run_completion`: kfp 2.5 does not count CANCELED as final and would poll on.
        """
        deadline = time.monotonic() + timeout_seconds
        last_state = None
        while True:
            run = self._call(f"read the state of run {run_id}", self._client.get_run, run_id)
            state = (run.state or "RUNTIME_STATE_UNSPECIFIED").upper()
            if state != last_state:
                on_state(state)
                last_state = state
            if state in FINAL_STATES:
                return FinishedRun(state=state, error_message=(run.error.message or "") if run.error else "")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerError(f"Run {run_id} is still {state} after {timeout_seconds:g} s; it goes on running "
                                  f"on the cluster: {self.run_url(run_id)}")
            time.sleep(min(poll_seconds, remaining))
