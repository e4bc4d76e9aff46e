"""`gc-tfx kubeflow submit` against a fake Kubeflow Pipelines API on 127.0.0.1.

The fake speaks the v2beta1 REST paths kfp 2.5's generated client (kfp-server-api 2.0.5) calls: healthz, pipeline
lookup and upload (`/apis/v2beta1/pipelines/upload`, `.../upload_version`), experiments, runs
(`POST /apis/v2beta1/runs`, `GET /apis/v2beta1/runs/{id}`). It records every request, so the tests check what a
real server would receive; like a multi-user Kubeflow's gateway it can refuse requests that do not sign in.
"""
import dataclasses
import http.server
import json
import pathlib
import socket
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

import image_fixtures
from cli import main as cli
from kubeflow import data_fingerprint

API = "/apis/v2beta1"
PACKAGE_ROOT = "gs://bucket/compiled-root"


@dataclasses.dataclass
class RecordedRequest:
    method: str
    path: str
    query: Dict[str, str]
    content_type: str
    body: bytes
    headers: Dict[str, str]  # names in lower case (HTTP header names are case-insensitive)

    def json(self) -> Any:
        return json.loads(self.body)


class FakeKfpApi:
    """A KFP 2.x API stand-in: answers from the settings below and records every request."""

    def __init__(self, existing_pipeline_id: Optional[str] = None, run_states: Sequence[str] = ("SUCCEEDED",),
                 upload_error: Optional[str] = None, healthz_status: int = 200, run_error: str = "",
                 required_headers: Optional[Dict[str, str]] = None, refusal_status: int = 401,
                 open_healthz: bool = False):
        self.existing_pipeline_id = existing_pipeline_id
        self.run_states = list(run_states)
        self.upload_error = upload_error
        self.healthz_status = healthz_status
        self.run_error = run_error
        self.required_headers = required_headers or {}  # lower-case names: what a request must carry
        self.refusal_status = refusal_status
        self.open_healthz = open_healthz  # some gateways let the health check through unsigned
        self.requests: List[RecordedRequest] = []

    def _signed_in(self, request: RecordedRequest) -> bool:
        if self.open_healthz and request.path == f"{API}/healthz":
            return True
        return all(request.headers.get(name) == value for name, value in self.required_headers.items())

    def answer(self, request: RecordedRequest) -> Tuple[int, Dict[str, Any]]:
        if not self._signed_in(request):
            return self.refusal_status, {"code": 16, "message": "Request is missing or has an invalid token"}
        route = (request.method, request.path)
        if route == ("GET", f"{API}/healthz"):
            return self.healthz_status, {"multi_user": False}
        if route == ("GET", f"{API}/pipelines"):
            if self.existing_pipeline_id:
                return 200, {"pipelines": [{"pipeline_id": self.existing_pipeline_id}], "total_size": 1}
            return 200, {}
        if route == ("POST", f"{API}/pipelines/upload"):
            if self.upload_error:
                return 400, {"code": 3, "message": self.upload_error}
            return 200, {"pipeline_id": "pipeline-1", "display_name": request.query["name"]}
        if route == ("GET", f"{API}/pipelines/pipeline-1/versions"):
            return 200, {"pipeline_versions": [{"pipeline_id": "pipeline-1", "pipeline_version_id": "version-1"}]}
        if route == ("POST", f"{API}/pipelines/upload_version"):
            return 200, {"pipeline_id": request.query["pipelineid"], "pipeline_version_id": "version-2",
                         "display_name": request.query["name"]}
        if route == ("GET", f"{API}/experiments"):
            return 200, {}
        if route == ("POST", f"{API}/experiments"):
            return 200, {"experiment_id": "experiment-1", "display_name": request.json()["display_name"]}
        if route == ("POST", f"{API}/runs"):
            return 200, {"run_id": "run-1", "state": "PENDING"}
        if route == ("GET", f"{API}/runs/run-1"):
            state = self.run_states.pop(0) if len(self.run_states) > 1 else self.run_states[0]
            run = {"run_id": "run-1", "state": state}
            if self.run_error:
                run["error"] = {"code": 2, "message": self.run_error}
            return 200, run
        return 404, {"code": 5, "message": f"no route {request.method} {request.path}"}

    def requests_to(self, method: str, path: str) -> List[RecordedRequest]:
        return [request for request in self.requests if (request.method, request.path) == (method, API + path)]


def _handler_for(api: FakeKfpApi) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(method=self.command, path=url.path,
                                      query=dict(urllib.parse.parse_qsl(url.query)),
                                      content_type=self.headers.get("Content-Type", ""),
                                      body=self.rfile.read(length),
                                      headers={name.lower(): value for name, value in self.headers.items()})
            api.requests.append(request)
            status, payload = api.answer(request)
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


@pytest.fixture
def serve():
    """serve(api) -> the URL of a thread serving `api` on 127.0.0.1; stopped after the test."""
    servers = []

    def start(api: FakeKfpApi) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def write_package(path, *, schema_version: str = "2.1.0", name: str = "gc-tfx", resolver: bool = False,
                  root_parameters: Optional[Dict[str, Any]] = None, data_root: Optional[str] = None) -> bytes:
    """A small package shaped like the compiler's output: one container task (or a resolver), and the root
    parameters given as their inputDefinitions (a TFX RuntimeParameter compiles to one); with `data_root`, an
    ImageExampleGen task that reads it and the data_fingerprint root parameter."""
    container = {"container": {"image": "registry.example/gc-tfx:1", "command": ["python"]}}
    executor = {"resolver": {"outputArtifactQueries": {}}} if resolver else container
    components = {"Pusher": {"executorLabel": "Pusher_executor"}}
    tasks = {"Pusher": {"taskInfo": {"name": "Pusher"}, "componentRef": {"name": "Pusher"}}}
    executors = {"Pusher_executor": executor}
    root_parameters = dict(root_parameters or {})
    if data_root:
        root_parameters["data_fingerprint"] = {"parameterType": "STRING"}
        components["ImageExampleGen"] = {"executorLabel": "ImageExampleGen_executor"}
        executors["ImageExampleGen_executor"] = container
        tasks["ImageExampleGen"] = {"taskInfo": {"name": "ImageExampleGen"},
                                    "componentRef": {"name": "ImageExampleGen"},
                                    "inputs": {"parameters": {
                                        "input_base": {"runtimeValue": {"constant": data_root}},
                                        "data_fingerprint": {"componentInputParameter": "data_fingerprint"}}}}
    spec = json_format.ParseDict({
        "pipelineInfo": {"name": name},
        "schemaVersion": schema_version,
        "sdkVersion": "tfx-1.16.0",
        "defaultPipelineRoot": PACKAGE_ROOT,
        "components": components,
        "deploymentSpec": {"executors": executors},
        "root": {"dag": {"tasks": tasks},
                 **({"inputDefinitions": {"parameters": root_parameters}} if root_parameters else {})},
    }, pipeline_spec_pb2.PipelineSpec())
    text = yaml.safe_dump(json_format.MessageToDict(spec), sort_keys=True)
    path.write_text(text)
    return text.encode()


@pytest.fixture
def package(tmp_path) -> str:
    """A valid package file, as `gc-tfx kubeflow compile` writes one."""
    path = tmp_path / "pipeline.yaml"
    write_package(path)
    return str(path)


def submit(*arguments: str) -> int:
    return cli.main(["kubeflow", "submit", *arguments])


def test_uploads_the_package_and_starts_a_run_from_it(serve, package, capsys):
    api = FakeKfpApi()
    host = serve(api)

    code = submit("--host", host, "--package", package, "--experiment", "gc-study", "--run-name", "first")

    out = capsys.readouterr().out
    assert code == 0
    assert "Run id: run-1" in out
    assert f"Run URL: {host}/#/runs/details/run-1" in out
    [upload] = api.requests_to("POST", "/pipelines/upload")
    assert upload.query["name"] == "gc-tfx"
    assert upload.content_type.startswith("multipart/form-data")
    assert b'name="uploadfile"' in upload.body
    assert pathlib.Path(package).read_bytes() in upload.body
    [experiment] = api.requests_to("POST", "/experiments")
    assert experiment.json()["display_name"] == "gc-study"
    [run] = api.requests_to("POST", "/runs")
    assert run.json()["display_name"] == "first"
    assert run.json()["experiment_id"] == "experiment-1"
    assert run.json()["pipeline_version_reference"] == {"pipeline_id": "pipeline-1",
                                                        "pipeline_version_id": "version-1"}
    assert run.json()["runtime_config"]["pipeline_root"] == PACKAGE_ROOT
    assert "pipeline_spec" not in run.json()  # the run starts from the uploaded version, not an inline copy


ROOT_PARAMETERS = {"epochs": {"parameterType": "NUMBER_INTEGER", "defaultValue": 10},
                   "data_root": {"parameterType": "STRING"}}


def test_the_run_carries_the_root_and_a_value_for_every_parameter(serve, tmp_path):
    """A YAML package has no runtime config: the server refuses parameters with neither default nor value."""
    api = FakeKfpApi()
    host = serve(api)
    path = tmp_path / "pipeline.yaml"
    write_package(path, root_parameters=ROOT_PARAMETERS)

    assert submit("--host", host, "--package", str(path), "--parameter", "data_root=gs://bucket/data") == 0

    [run] = api.requests_to("POST", "/runs")
    assert run.json()["runtime_config"] == {"pipeline_root": PACKAGE_ROOT,
                                            "parameters": {"epochs": 10, "data_root": "gs://bucket/data"}}


def test_a_parameter_without_default_or_value_is_refused_before_contacting_the_server(serve, tmp_path, capsys):
    api = FakeKfpApi()
    host = serve(api)
    path = tmp_path / "pipeline.yaml"
    write_package(path, root_parameters=ROOT_PARAMETERS)

    assert submit("--host", host, "--package", str(path), "--parameter", "epochs=3") == 1

    err = capsys.readouterr().err
    assert "parameter 'data_root' has neither default value nor user provided value" in err
    assert "pass --parameter data_root=VALUE" in err
    assert not api.requests_to("POST", "/runs") and not api.requests_to("POST", "/pipelines/upload")


def test_an_unknown_parameter_is_named(serve, package, capsys):
    host = serve(FakeKfpApi())
    assert submit("--host", host, "--package", package, "--parameter", "epochs=3") == 1
    assert "has no parameter epochs (it has: none)" in capsys.readouterr().err


def test_an_existing_pipeline_gets_a_new_version(serve, package):
    api = FakeKfpApi(existing_pipeline_id="pipeline-7")
    host = serve(api)

    assert submit("--host", host, "--package", package) == 0

    assert not api.requests_to("POST", "/pipelines/upload")
    [upload] = api.requests_to("POST", "/pipelines/upload_version")
    assert upload.query["pipelineid"] == "pipeline-7"
    assert upload.query["name"].startswith("gc-tfx-")  # versions need unique names: pipeline name + UTC time
    [experiment] = api.requests_to("POST", "/experiments")
    assert experiment.json()["display_name"] == "gc-tfx"  # default experiment: the pipeline's name
    [run] = api.requests_to("POST", "/runs")
    assert run.json()["pipeline_version_reference"] == {"pipeline_id": "pipeline-7",
                                                        "pipeline_version_id": "version-2"}


def test_pipeline_root_flag_overrides_the_compiled_root(serve, package, capsys):
    api = FakeKfpApi()
    host = serve(api)

    assert submit("--host", host, "--package", package, "--pipeline-root", "gs://other/root/") == 0

    [run] = api.requests_to("POST", "/runs")
    assert run.json()["runtime_config"]["pipeline_root"] == "gs://other/root"
    assert "Pipeline root: gs://other/root" in capsys.readouterr().out


def test_wait_follows_the_run_to_its_final_state(serve, package, capsys):
    api = FakeKfpApi(run_states=("PENDING", "RUNNING", "SUCCEEDED"))
    host = serve(api)

    code = submit("--host", host, "--package", package, "--wait", "--poll-interval", "0.01")

    captured = capsys.readouterr()
    assert code == 0
    assert "Final state: SUCCEEDED" in captured.out
    assert [line for line in captured.err.splitlines() if line.startswith("Run state:")] == [
        "Run state: PENDING", "Run state: RUNNING", "Run state: SUCCEEDED"]
    assert len(api.requests_to("GET", "/runs/run-1")) == 3


@pytest.mark.parametrize("state", ["FAILED", "CANCELED"])
def test_wait_exits_1_with_the_reason_when_the_run_does_not_succeed(serve, package, capsys, state):
    api = FakeKfpApi(run_states=("RUNNING", state), run_error="Trainer trainer_gc: OOMKilled")
    host = serve(api)

    code = submit("--host", host, "--package", package, "--wait", "--poll-interval", "0.01")

    captured = capsys.readouterr()
    assert code == 1
    assert f"Final state: {state}" in captured.out
    assert f"ended {state}: Trainer trainer_gc: OOMKilled" in captured.err
    assert "Traceback" not in captured.err


def test_wait_gives_up_after_the_timeout(serve, package, capsys):
    api = FakeKfpApi(run_states=("RUNNING",))
    host = serve(api)

    code = submit("--host", host, "--package", package, "--wait", "--timeout", "0.2", "--poll-interval", "0.05")

    assert code == 1
    assert "is still RUNNING after 0.2 s" in capsys.readouterr().err


def test_a_rejected_upload_is_one_clear_error(serve, package, capsys):
    api = FakeKfpApi(upload_error="Failed to create a pipeline: invalid pipeline spec")
    host = serve(api)

    code = submit("--host", host, "--package", package)

    err = capsys.readouterr().err
    assert code == 1
    assert (f"Kubeflow Pipelines at {host} refused to upload the package: HTTP 400 Bad Request: "
            "Failed to create a pipeline: invalid pipeline spec") in err
    assert "Traceback" not in err
    assert not api.requests_to("POST", "/runs")


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_host_is_one_clear_error(package, capsys):
    host = f"http://127.0.0.1:{_unused_port()}"

    started = time.monotonic()
    code = submit("--host", host, "--package", package)

    err = capsys.readouterr().err
    assert code == 1
    assert f"Cannot reach Kubeflow Pipelines at {host}" in err
    assert "Traceback" not in err
    assert time.monotonic() - started < 10  # no half-minute of client retries


def test_a_host_that_is_not_kfp_is_named_as_such(serve, package, capsys):
    host = serve(FakeKfpApi(healthz_status=404))

    assert submit("--host", host, "--package", package) == 1
    assert "is not a Kubeflow Pipelines v2 API endpoint" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    ({"schema_version": "2.0.0"}, "accepts only 2.1.0"),
    ({"resolver": True}, "contains TFX Resolver nodes (Pusher_executor)"),
    ({"name": "GC_TFX"}, "Kubeflow needs lower-case letters"),
])
def test_a_package_kfp_would_reject_is_refused_before_contacting_the_server(serve, tmp_path, capsys, kwargs,
                                                                              message):
    api = FakeKfpApi()
    host = serve(api)
    package = tmp_path / "pipeline.yaml"
    write_package(package, **kwargs)

    assert submit("--host", host, "--package", str(package)) == 1
    assert message in capsys.readouterr().err
    assert api.requests == []


@pytest.mark.parametrize("arguments, message", [
    (["--host", "localhost:8080"], "--host must be the Kubeflow Pipelines URL with its scheme"),
    (["--host", "http://localhost:8080", "--package", "pipeline.json"], "must be a .yaml or .yml file"),
    (["--host", "http://localhost:8080", "--pipeline-root", "/local/dir"], "--pipeline-root must be an object-store"),
    (["--host", "http://localhost:8080", "--wait", "--timeout", "0"], "--timeout and --poll-interval must be positive"),
])
def test_bad_flags_are_named(package, capsys, arguments, message):
    if "--package" not in arguments:
        arguments = [*arguments, "--package", package]

    assert submit(*arguments) == 1
    assert message in capsys.readouterr().err


def test_missing_package_file_is_named(tmp_path, capsys):
    assert submit("--host", "http://localhost:8080", "--package", str(tmp_path / "absent.yaml")) == 1
    assert "Cannot read the package" in capsys.readouterr().err


TOKEN = "eyJhbGciOiJSUzI1NiJ9.default-editor.signature"
BEARER = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def token_file(tmp_path) -> str:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")  # as `kubectl create token NAME > FILE` writes it
    return str(path)


@pytest.fixture
def no_pod_token(monkeypatch, tmp_path):
    """This machine is no Kubeflow pod: the service-account token path points at nothing."""
    monkeypatch.delenv("KF_PIPELINES_SA_TOKEN_PATH", raising=False)
    monkeypatch.setattr("kubeflow.sign_in.DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH", str(tmp_path / "no-token"))


def test_token_file_signs_every_request_in_with_the_bearer_token(serve, package, token_file, no_pod_token):
    api = FakeKfpApi(required_headers=BEARER)
    host = serve(api)

    assert submit("--host", host, "--package", package, "--token-file", token_file) == 0

    assert api.requests_to("POST", "/runs")
    assert all(request.headers.get("authorization") == f"Bearer {TOKEN}" for request in api.requests)


def test_cookies_sign_in_as_a_browser_session(serve, package, no_pod_token):
    session = "authservice_session=MTcwMzQ1Njc4OXxEdi1CQkFFQ180SUFBUkFCRUFB"
    api = FakeKfpApi(required_headers={"cookie": session})
    host = serve(api)

    assert submit("--host", host, "--package", package, "--cookies", session) == 0

    assert api.requests_to("POST", "/runs")
    assert all(request.headers.get("cookie") == session for request in api.requests)


def test_in_a_pod_the_service_account_token_signs_in(serve, package, token_file, monkeypatch):
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", token_file)
    api = FakeKfpApi(required_headers=BEARER)
    host = serve(api)

    assert submit("--host", host, "--package", package) == 0

    assert api.requests_to("POST", "/runs")
    assert all(request.headers.get("authorization") == f"Bearer {TOKEN}" for request in api.requests)


@pytest.mark.parametrize("status, open_healthz", [(401, False), (403, False), (401, True)])
def test_without_sign_in_a_refusal_is_one_line_naming_the_host_and_the_flags(serve, package, capsys, no_pod_token,
                                                                             status, open_healthz):
    api = FakeKfpApi(required_headers=BEARER, refusal_status=status, open_healthz=open_healthz)
    host = serve(api)

    assert submit("--host", host, "--package", package) == 1

    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert f"Kubeflow Pipelines at {host} refused" in line and f"HTTP {status} " in line
    assert "as a multi-user Kubeflow does without sign-in; sign in with --token-file FILE" in line
    assert "--cookies 'authservice_session=...' (Dex)" in line
    assert "Traceback" not in err
    assert not api.requests_to("POST", "/runs")


def test_a_refused_token_is_named_as_the_one_that_was_sent(serve, package, capsys, tmp_path, no_pod_token):
    expired = tmp_path / "expired"
    expired.write_text("expired-token")
    host = serve(FakeKfpApi(required_headers=BEARER))

    assert submit("--host", host, "--package", package, "--token-file", str(expired)) == 1

    err = capsys.readouterr().err
    assert f"refused GET /apis/v2beta1/healthz: HTTP 401 Unauthorized with the token in {expired} (expired" in err


@pytest.mark.parametrize("flags, message", [
    (["--token-file", "/nonexistent/token"], "Cannot read the token file '/nonexistent/token' (--token-file)"),
    (["--cookies", " "], "--cookies must be a Cookie header value"),
])
def test_sign_in_flags_that_cannot_work_are_refused_before_contacting_the_server(serve, package, capsys, flags,
                                                                                  message):
    api = FakeKfpApi()
    host = serve(api)

    assert submit("--host", host, "--package", package, *flags) == 1
    assert message in capsys.readouterr().err
    assert api.requests == []


def test_the_run_carries_the_fingerprint_of_the_data_roots_listing(serve, tmp_path, capsys):
    data = tmp_path / "data"
    image_fixtures.write_clean_data_folder(str(data), train_per_class=2, test_per_class=1)
    expected = data_fingerprint.fingerprint(data_fingerprint.list_data_root(str(data), {}))
    api = FakeKfpApi()
    host = serve(api)
    path = tmp_path / "pipeline.yaml"
    write_package(path, data_root=str(data))

    assert submit("--host", host, "--package", str(path)) == 0

    [run] = api.requests_to("POST", "/runs")
    assert run.json()["runtime_config"]["parameters"] == {"data_fingerprint": expected}
    assert f"Data fingerprint: {expected} (6 objects below {data})" in capsys.readouterr().out


def test_a_given_fingerprint_is_sent_as_it_is_without_listing_anything(serve, tmp_path, capsys):
    api = FakeKfpApi()
    host = serve(api)
    path = tmp_path / "pipeline.yaml"
    write_package(path, data_root=str(tmp_path / "not-here"))  # listing it would fail

    assert submit("--host", host, "--package", str(path), "--parameter", "data_fingerprint=release-2024-06") == 0

    [run] = api.requests_to("POST", "/runs")
    assert run.json()["runtime_config"]["parameters"] == {"data_fingerprint": "release-2024-06"}
    assert "Data fingerprint" not in capsys.readouterr().out


def test_a_data_root_this_machine_cannot_list_asks_for_the_fingerprint(serve, tmp_path, capsys):
    api = FakeKfpApi()
    host = serve(api)
    path = tmp_path / "pipeline.yaml"
    write_package(path, data_root="/mnt/volume/horse-or-human")

    assert submit("--host", host, "--package", str(path)) == 1

    err = capsys.readouterr().err
    assert "/mnt/volume/horse-or-human is not a folder this machine can list" in err
    assert "pass --parameter data_fingerprint=VALUE" in err and "Traceback" not in err
    assert api.requests == []  # nothing uploaded before the run's parameters are known
