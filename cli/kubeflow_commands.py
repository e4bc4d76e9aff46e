"""`gc-tfx kubeflow compile`, `submit` and `run-local`: Kubeflow Pipelines v2."""
import argparse
import datetime
import json
import os
import sys
import tempfile
import warnings
from typing import Dict, Mapping

from cli.errors import UserError
from cli.experiment_flags import add_experiment_arguments, experiment_from_arguments


def _kubeflow_compile(args: argparse.Namespace) -> int:
    from kubeflow import errors, object_storage, options

    experiment = experiment_from_arguments(args)
    try:
        # Flags are checked before TFX is imported (seconds), so a typo fails at once.
        storage = object_storage.ObjectStorage(
            endpoint=args.s3_endpoint, credentials_secret=args.s3_credentials_secret,
            access_key_field=args.s3_access_key_field, secret_key_field=args.s3_secret_key_field,
            region=args.s3_region)
        compile_options = options.CompileOptions(
            image=args.image, pipeline_root=args.pipeline_root, data_root=args.data_root, experiment=experiment,
            gpus=args.gpus,
            trainer_cpu=args.trainer_cpu, trainer_memory_gb=args.trainer_memory, schema_path=args.schema_path,
            serving_model_dir=args.serving_model_dir,
            beam_pipeline_args=tuple(args.beam_arg) if args.beam_arg else options.DEFAULT_BEAM_ARGS,
            pipeline_name=args.pipeline_name, enable_cache=not args.no_cache, object_storage=storage)
        with warnings.catch_warnings():
            if not args.verbose:
                # Importing TFX wakes TensorFlow and Google clients, which print pages of start-up notices; compiling
                # runs no TensorFlow op, so none of them concern this command.
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
                warnings.simplefilter("ignore")
            from kubeflow import compiler

            package = compiler.compile_package(compile_options, args.output)
    except errors.KubeflowError as error:
        raise UserError(str(error)) from error
    gpus = f"{compile_options.gpus} GPU(s)" if compile_options.gpus else "no GPU"
    print(f"Wrote {args.output}: {len(package.pipeline_spec.root.dag.tasks)} tasks on {compile_options.image}, "
          f"{gpus} per Trainer, pipeline root {package.default_pipeline_root}.")
    if storage.endpoint or storage.credentials_secret:
        secret = (f", keys from secret {storage.credentials_secret} ({storage.access_key_field}, "
                  f"{storage.secret_key_field})" if storage.credentials_secret else "")
        print(f"Every task reaches S3 at {storage.endpoint or 'the AWS default endpoint'}{secret}.")
    print(f"Dry-run it here with: gc-tfx kubeflow run-local --package {args.output} --pipeline-root "
          f"{package.default_pipeline_root}")
    print(f"Submit it with: gc-tfx kubeflow submit --host URL --package {args.output}")
    return 0


def _kubeflow_submit(args: argparse.Namespace) -> int:
    if args.timeout <= 0 or args.poll_interval <= 0:
        raise UserError(f"--timeout and --poll-interval must be positive, got {args.timeout} and "
                        f"{args.poll_interval}.")
    from kubeflow import errors, sign_in, submit

    try:
        signed_in = sign_in.sign_in_from(args.token_file, args.cookies)
        parameters = _with_data_fingerprint(args.package, _parameter_values(args.parameter), os.environ)
        submitter = submit.Submitter(args.host, namespace=args.namespace, sign_in=signed_in)
        run = submitter.submit(args.package, experiment=args.experiment, run_name=args.run_name,
                               pipeline_root=args.pipeline_root, parameters=parameters)
        print(f"Run id: {run.run_id}")
        print(f"Run URL: {run.run_url}")
        print(f"Pipeline root: {run.pipeline_root or 'the cluster default (kfp-launcher ConfigMap)'}")
        if not args.wait:
            return 0
        finished = submitter.wait(run.run_id, timeout_seconds=args.timeout, poll_seconds=args.poll_interval,
                                  on_state=lambda state: print(f"Run state: {state}", file=sys.stderr))
    except errors.KubeflowError as error:
        raise UserError(str(error)) from error
    print(f"Final state: {finished.state}")
    if finished.state != "SUCCEEDED":
        raise UserError(f"Run {run.run_id} ended {finished.state}"
                        + (f": {finished.error_message}" if finished.error_message else "")
                        + f". Task logs: {run.run_url}")
    return 0


def _parameter_values(pairs) -> Dict[str, object]:
    values = {}
    for pair in pairs or ():
        name, separator, text = pair.partition("=")
        if not separator or not name:
            raise UserError(f"--parameter must be NAME=VALUE, got {pair!r}.")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text  # a bare word is a string
    return values


def _with_data_fingerprint(package_path: str, parameters: Dict[str, object],
                           environment: Mapping[str, str]) -> Dict[str, object]:
    """`parameters` plus the data fingerprint the package's cache needs, computed from the data root's listing."""
    from kubeflow import data_fingerprint
    from kubeflow import package as package_lib

    completed, fingerprint = data_fingerprint.complete_parameters(package_lib.read_package(package_path),
                                                                  parameters, environment)
    if fingerprint:
        objects = f"{fingerprint.objects} object{'' if fingerprint.objects == 1 else 's'}"
        print(f"Data fingerprint: {fingerprint.value} ({objects} below {fingerprint.data_root})", flush=True)
    return completed


def _image_environment() -> Dict[str, str]:
    """This shell's environment with what the Dockerfile sets for every task: Keras 2, and tcmalloc when installed."""
    from cli import allocator

    return dict(os.environ, TF_USE_LEGACY_KERAS="1", PYTHONUNBUFFERED="1", **allocator.preload_environment())


def _kubeflow_run_local(args: argparse.Namespace) -> int:
    from kubeflow import errors, local_executor

    contract = local_executor.Contract.VERTEX if args.vertex else local_executor.Contract.OPEN_SOURCE
    run_id = args.run_id or f"run-local-{datetime.datetime.now(datetime.timezone.utc):%Y%m%d-%H%M%S}"
    work_dir = args.work_dir or os.path.join(tempfile.gettempdir(), "gc-tfx-run-local", run_id)

    def started(index: int, total: int, name: str) -> None:
        print(f"[{index}/{total}] {name} ...", flush=True)

    def finished(task: "local_executor.TaskRun") -> None:
        print(f"      {task.name} done in {task.seconds:.1f} s", flush=True)

    print(f"Running {args.package} as {contract.value} would; task logs in {work_dir}", flush=True)
    environment = _image_environment()
    try:
        parameters = _with_data_fingerprint(args.package, _parameter_values(args.parameter), environment)
        run = local_executor.run_package(args.package, args.pipeline_root, work_dir=work_dir, run_id=run_id,
                                         contract=contract, parameters=parameters, environment=environment,
                                         on_task_start=started, on_task_end=finished)
    except errors.KubeflowError as error:
        raise UserError(str(error)) from error
    total = sum(task.seconds for task in run.tasks)
    print(f"All {len(run.tasks)} tasks succeeded in {total:.0f} s; outputs below {run.run_root}")
    print("Task wall times: " + ", ".join(f"{task.name} {task.seconds:.0f} s" for task in run.tasks))
    pushed = local_executor.pushed_location(run)
    print(f"Pushed model: {pushed}" if pushed else "Pushed model: none (ModelSelection kept what serves, or the "
          "quality floor was not met; see its log)")
    return 0


def add_kubeflow_commands(subparsers: argparse._SubParsersAction) -> None:
    # Flag defaults only: no TFX, no KFP SDK, so `--help` stays instant.
    from kubeflow import data_fingerprint, object_storage, options

    kubeflow = subparsers.add_parser("kubeflow", help="Compile the pipeline for Kubeflow Pipelines v2, dry-run the "
                                                      "package here, submit it.")
    kubeflow_commands = kubeflow.add_subparsers(dest="kubeflow_command", required=True,
                                                metavar="{compile,submit,run-local}")
    compile_parser = kubeflow_commands.add_parser(
        "compile", help="Compile a KFP v2 pipeline package (YAML, schema 2.1.0) from the pipeline `run` executes.")
    compile_parser.add_argument("--image", required=True,
                                help="Image every task runs, built from this repository's Dockerfile and pushed, "
                                     "with a fixed tag or digest (e.g. us-docker.pkg.dev/PROJECT/REPO/gc-tfx:1).")
    compile_parser.add_argument("--pipeline-root", required=True,
                                help="Object-store URI for every task's outputs, e.g. gs://BUCKET/gc-tfx.")
    compile_parser.add_argument("--data-root", required=True,
                                help="Image folder with train/ and test/ as the tasks see it: gs://BUCKET/data, or "
                                     "an absolute path on a volume mounted into the tasks.")
    compile_parser.add_argument("--gpus", type=int, default=0,
                                help="nvidia.com/gpu each Trainer requests (only the Trainers); MirroredStrategy "
                                     "trains on all of them (default: 0).")
    compile_parser.add_argument("--trainer-cpu", type=float, metavar="CORES",
                                help="CPU limit of each Trainer, in cores (default: the cluster's).")
    compile_parser.add_argument("--trainer-memory", type=float, metavar="GB",
                                help="Memory limit of each Trainer, in gigabytes (default: the cluster's).")
    compile_parser.add_argument("--output", default="pipeline.yaml",
                                help="Package file to write, .yaml or .yml (default: pipeline.yaml).")
    compile_parser.add_argument("--schema-path", default=options.IMAGE_SCHEMA_PATH,
                                help=f"Curated schema as the tasks see it (default: {options.IMAGE_SCHEMA_PATH}, "
                                     "where the Dockerfile puts pipeline/schema/schema.pbtxt).")
    compile_parser.add_argument("--serving-model-dir",
                                help="Where the Pusher copies the selected model (default: PIPELINE_ROOT/"
                                     f"{options.SERVING_MODEL_FOLDER}).")
    compile_parser.add_argument("--beam-arg", action="append", metavar="ARG",
                                help="A Beam pipeline argument, repeatable, written as --beam-arg=--runner=... "
                                     f"(default: {' '.join(options.DEFAULT_BEAM_ARGS)}).")
    compile_parser.add_argument("--pipeline-name", default=options.DEFAULT_PIPELINE_NAME,
                                help=f"Pipeline name on the server (default: {options.DEFAULT_PIPELINE_NAME}).")
    storage = compile_parser.add_argument_group(
        "object storage", "S3 (Kubeflow's MinIO) for every task: the endpoint goes into each task's env, the keys "
                          "come from a Kubernetes secret in the run's namespace.")
    storage.add_argument("--s3-endpoint", metavar="URL",
                         help="The S3 server as the tasks reach it, e.g. http://minio-service.kubeflow:9000; https "
                              "turns certificate checks on (default: none set, the AWS endpoint).")
    storage.add_argument("--s3-credentials-secret", metavar="NAME",
                         help="Secret whose keys become AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in every task, "
                              "e.g. mlpipeline-minio-artifact (default: none, the cluster provides them).")
    storage.add_argument("--s3-access-key-field", metavar="KEY",
                         help=f"The secret's key holding the access key id (default: "
                              f"{object_storage.DEFAULT_ACCESS_KEY_FIELD}).")
    storage.add_argument("--s3-secret-key-field", metavar="KEY",
                         help=f"The secret's key holding the secret access key (default: "
                              f"{object_storage.DEFAULT_SECRET_KEY_FIELD}).")
    storage.add_argument("--s3-region",
                         help=f"Region both S3 clients sign with (default: {object_storage.DEFAULT_REGION} with "
                              "--s3-endpoint, else the clients' own).")
    add_experiment_arguments(compile_parser)
    compile_parser.add_argument("--no-cache", action="store_true",
                                help="Compile with KFP caching off, so every run recomputes every task.")
    compile_parser.set_defaults(handler=_kubeflow_compile)

    submit_parser = kubeflow_commands.add_parser("submit", help="Upload a compiled package and start a run.")
    submit_parser.add_argument("--host", required=True,
                               help="Kubeflow Pipelines URL, e.g. http://localhost:8080 after `kubectl port-forward "
                                    "-n kubeflow svc/ml-pipeline-ui 8080:80`.")
    submit_parser.add_argument("--package", required=True, help="The .yaml file `gc-tfx kubeflow compile` wrote.")
    submit_parser.add_argument("--experiment",
                               help="Experiment to run in, created when missing (default: the pipeline's name).")
    submit_parser.add_argument("--run-name", help="Run name in the UI (default: pipeline name and UTC time).")
    submit_parser.add_argument("--pipeline-root",
                               help="Object-store URI for this run's outputs (default: the compile-time root).")
    submit_parser.add_argument("--parameter", action="append", metavar="NAME=VALUE",
                               help="A value for a root parameter of the package (JSON, or a bare string); "
                                    f"the others get their defaults, and {data_fingerprint.PARAMETER} the "
                                    "fingerprint of the data root's listing.")
    submit_parser.add_argument("--namespace", help="Kubernetes namespace of multi-user Kubeflow deployments.")
    submit_parser.add_argument("--token-file", metavar="FILE",
                               help="Sign in with the bearer token in FILE, e.g. written by `kubectl -n NAMESPACE "
                                    "create token default-editor` (default: the pod's service-account token at "
                                    "$KF_PIPELINES_SA_TOKEN_PATH or /var/run/secrets/kubeflow/pipelines/token when "
                                    "it exists, else none).")
    submit_parser.add_argument("--cookies", metavar="VALUE",
                               help="Sign in with a browser session's Cookie header: 'authservice_session=...' "
                                    "(Dex) or 'oauth2_proxy_kubeflow=...' (oauth2-proxy).")
    submit_parser.add_argument("--wait", action="store_true",
                               help="Wait for the run to finish; exit 1 unless it SUCCEEDED.")
    submit_parser.add_argument("--timeout", type=float, default=86400.0, metavar="SECONDS",
                               help="With --wait: give up waiting after this long (default: 86400, a day).")
    submit_parser.add_argument("--poll-interval", type=float, default=15.0, metavar="SECONDS",
                               help="With --wait: seconds between state checks (default: 15).")
    submit_parser.set_defaults(handler=_kubeflow_submit)

    run_local_parser = kubeflow_commands.add_parser(
        "run-local", help="Run a compiled package here, task by task, as open-source KFP v2 (or Vertex AI) would: "
                          "a dry run before the cluster.")
    run_local_parser.add_argument("--package", required=True, help="The .yaml file `gc-tfx kubeflow compile` wrote.")
    run_local_parser.add_argument("--pipeline-root", required=True,
                                  help="Object-store URI for the run's outputs (s3://, gs:// or minio://; for s3 "
                                       "the tasks use the compiled endpoint unless this shell sets one, and the "
                                       "AWS keys from this shell).")
    run_local_parser.add_argument("--vertex", action="store_true",
                                  help="Behave as Vertex AI does (typed input artifacts, the ExampleGen driver hook) "
                                       "instead of open-source KFP.")
    run_local_parser.add_argument("--parameter", action="append", metavar="NAME=VALUE",
                                  help="A value for a root parameter of the package (JSON, or a bare string).")
    run_local_parser.add_argument("--run-id", help="The run's id in output URIs (default: run-local-UTC time).")
    run_local_parser.add_argument("--work-dir", help="Empty folder for each task's scratch files and log "
                                                     "(default: TMPDIR/gc-tfx-run-local/RUN_ID).")
    run_local_parser.set_defaults(handler=_kubeflow_run_local)
