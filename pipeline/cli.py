"""The `gc-tfx` command line: data synth/fetch, run, report, kubeflow compile/submit.

Subcommands import TensorFlow/TFX lazily, so `gc-tfx --help` answers at once.
"""
import os

# Keras 2 (tf_keras) for TFT, TFMA and our trainer: must be set before anything imports TensorFlow.
os.environ["TF_USE_LEGACY_KERAS"] = "1"

import argparse
import logging as python_logging
import sys
import warnings
from typing import List, Optional

from absl import logging

DEFAULT_OUTPUT = "gc_tfx_output"


class UserError(Exception):
    """An error the user can fix; printed as one paragraph without a stack trace."""


def _synthesize_data(args: argparse.Namespace) -> int:
    from pipeline.datasets import synthetic

    try:
        summary = synthetic.write_synthetic_dataset(args.out, train_size=args.train, test_size=args.test,
                                                    image_size=args.image_size, seed=args.seed)
    except (ValueError, OSError) as error:  # bad arguments, a folder we may not overwrite, a full disk
        raise UserError(str(error)) from error
    print(synthetic.describe(summary))
    return 0


def _fetch_data(args: argparse.Namespace) -> int:
    from pipeline.datasets import download

    try:
        summary = download.fetch_horses_or_humans(args.out, progress=download.StderrProgress())
    except (ValueError, OSError) as error:  # network, checksum, unsafe archive, a folder we may not overwrite
        raise UserError(str(error)) from error
    print(download.describe(summary))
    return 0


def _add_data_commands(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="Create or download the Horses-or-Humans image folders.")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="{synth,fetch}")

    synth = data_commands.add_parser(
        "synth", help="Draw the embedded default dataset: horse-like and human-like figures.")
    synth.add_argument("out", help="Folder to write train/{horses,humans} and test/{horses,humans} into.")
    synth.add_argument("--train", type=int, default=1027, help="Training images (default: 1027, as the real data).")
    synth.add_argument("--test", type=int, default=256, help="Test images (default: 256, as the real data).")
    synth.add_argument("--image-size", type=int, default=300, help="Image side in pixels (default: 300).")
    synth.add_argument("--seed", type=int, default=0, help="Random seed; the same seed draws the same images.")
    synth.set_defaults(handler=_synthesize_data)

    fetch = data_commands.add_parser("fetch", help="Download the official Horses-or-Humans zips, checksum-verified.")
    fetch.add_argument("out", help="Folder to write train/{horses,humans} and test/{horses,humans} into.")
    fetch.set_defaults(handler=_fetch_data)


def _add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's flags, shared by `run` and `kubeflow compile` so both build the same pipeline."""
    parser.add_argument("--epochs", type=int, default=10, help="Training epochs per model (default: 10).")
    parser.add_argument("--batch-size", type=int, default=128,
                        help="Batch size per replica; the global batch scales with the GPU count (default: 128).")
    parser.add_argument("--image-size", type=int, default=300, help="Side images are resized to (default: 300).")
    parser.add_argument("--seed", type=int, default=42,
                        help="Seed for initial weights, data order and augmentation, shared by both models.")
    parser.add_argument("--eval-percent", type=int, default=10,
                        help="Share of train/ held out (by file-name hash) for validation during training "
                             "(default: 10).")
    parser.add_argument("--quality-floor", type=float, default=0.5,
                        help="Minimum test binary accuracy a model needs to be pushed; above 1 nothing is ever "
                             "pushed (default: 0.5).")


def _add_run_command(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="Run the whole pipeline locally (LocalDagRunner): train with and without GC, compare, push.")
    run.add_argument("--data", help="Image folder with train/ and test/; without it the default data is synthesized.")
    run.add_argument("--output", default=DEFAULT_OUTPUT,
                     help=f"Folder for artifacts, ML Metadata and the pushed model (default: {DEFAULT_OUTPUT}).")
    _add_experiment_arguments(run)
    run.add_argument("--beam-workers", type=int, default=os.cpu_count() or 1,
                     help="Beam DirectRunner worker processes (default: all cores; 1 runs in-process, which "
                          "starts faster on tiny data).")
    run.add_argument("--no-cache", action="store_true", help="Rerun every component instead of reusing results.")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    for name in ("epochs", "batch_size", "image_size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if not 0.0 <= args.quality_floor < float("inf"):
        raise UserError(f"--quality-floor must be a number >= 0, got {args.quality_floor}.")
    if not 1 <= args.eval_percent <= 50:
        raise UserError(f"--eval-percent must be between 1 and 50, got {args.eval_percent}.")
    from pipeline import local_run_command
    from trainer.model import MIN_IMAGE_SIZE

    if args.image_size < MIN_IMAGE_SIZE:
        raise UserError(f"--image-size {args.image_size} is too small for the CNN's five conv/pool blocks; "
                        f"use at least {MIN_IMAGE_SIZE}.")
    return local_run_command.run(
        data=args.data, output=args.output, epochs=args.epochs, batch_size=args.batch_size,
        image_size=args.image_size, seed=args.seed, eval_percent=args.eval_percent,
        quality_floor=args.quality_floor, beam_workers=args.beam_workers, enable_cache=not args.no_cache,
        verbose=args.verbose)


def _report(args: argparse.Namespace) -> int:
    from pipeline.report import build

    try:
        files = build.build_report(args.output)
    except build.ReportError as error:
        raise UserError(str(error)) from error
    print(f"Report: {files.page}")
    print(f"Numbers for machines: {files.summary}")
    return 0


def _add_report_command(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="Write a standalone HTML report of the latest run (OUTPUT/report/index.html and "
                       "summary.json); it opens in any browser, no notebook or network needed.")
    report.add_argument("--output", default=DEFAULT_OUTPUT,
                        help=f"The output folder of `gc-tfx run` (default: {DEFAULT_OUTPUT}).")
    report.set_defaults(handler=_report)


def _kubeflow_compile(args: argparse.Namespace) -> int:
    import warnings

    from kubeflow import errors, options

    try:
        # Flags are checked before TFX is imported (seconds), so a typo fails at once.
        compile_options = options.CompileOptions(
            image=args.image, pipeline_root=args.pipeline_root, data_root=args.data_root, epochs=args.epochs,
            batch_size=args.batch_size, image_size=args.image_size, seed=args.seed,
            quality_floor=args.quality_floor, eval_percent=args.eval_percent, gpus=args.gpus,
            trainer_cpu=args.trainer_cpu, trainer_memory_gb=args.trainer_memory, schema_path=args.schema_path,
            serving_model_dir=args.serving_model_dir,
            beam_pipeline_args=tuple(args.beam_arg) if args.beam_arg else options.DEFAULT_BEAM_ARGS,
            pipeline_name=args.pipeline_name, enable_cache=not args.no_cache)
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
    print(f"Submit it with: gc-tfx kubeflow submit --host URL --package {args.output}")
    return 0


def _kubeflow_submit(args: argparse.Namespace) -> int:
    if args.timeout <= 0 or args.poll_interval <= 0:
        raise UserError(f"--timeout and --poll-interval must be positive, got {args.timeout} and "
                        f"{args.poll_interval}.")
    from kubeflow import errors, submit

    try:
        submitter = submit.Submitter(args.host, namespace=args.namespace)
        run = submitter.submit(args.package, experiment=args.experiment, run_name=args.run_name,
                               pipeline_root=args.pipeline_root)
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


def _add_kubeflow_commands(subparsers: argparse._SubParsersAction) -> None:
    from kubeflow import options  # Flag defaults only: no TFX, no KFP SDK, so `--help` stays instant.

    kubeflow = subparsers.add_parser("kubeflow", help="Compile the pipeline for Kubeflow Pipelines v2 and submit it.")
    kubeflow_commands = kubeflow.add_subparsers(dest="kubeflow_command", required=True,
                                                metavar="{compile,submit}")
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
    _add_experiment_arguments(compile_parser)
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
    submit_parser.add_argument("--namespace", help="Kubernetes namespace of multi-user Kubeflow deployments.")
    submit_parser.add_argument("--wait", action="store_true",
                               help="Wait for the run to finish; exit 1 unless it SUCCEEDED.")
    submit_parser.add_argument("--timeout", type=float, default=86400.0, metavar="SECONDS",
                               help="With --wait: give up waiting after this long (default: 86400, a day).")
    submit_parser.add_argument("--poll-interval", type=float, default=15.0, metavar="SECONDS",
                               help="With --wait: seconds between state checks (default: 15).")
    submit_parser.set_defaults(handler=_kubeflow_submit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gc-tfx",
        description="Train one CNN with and without Gradient Centralization, compare them fairly, push the better.")
    parser.add_argument("--verbose", action="store_true", help="Show TFX/Beam/TensorFlow logs.")
    subparsers = parser.add_subparsers(dest="command", required=True,
                                       metavar="{data,run,report,kubeflow}")
    _add_data_commands(subparsers)
    _add_run_command(subparsers)
    _add_report_command(subparsers)
    _add_kubeflow_commands(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    # TensorFlow's C++ start-up chatter (CUDA plugins, CPU features); read when TensorFlow loads, which every
    # subcommand does lazily, after this line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if args.verbose else "3")
    logging.use_absl_handler()
    # INFO records still reach pipeline.progress (one line per component); the console shows them only
    # with --verbose.
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setLevel(python_logging.INFO if args.verbose else python_logging.ERROR)
    if not args.verbose:
        warnings.simplefilter("ignore")  # third-party deprecation and runtime warnings, not the user's concern
    try:
        return args.handler(args) or 0
    except UserError as error:
        print(f"gc-tfx: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gc-tfx: interrupted; rerun the same command to resume from the cache.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # `python -m pipeline.cli` runs this file as __main__; delegate to the importable module so that the
    # UserError other modules raise (pipeline.cli.UserError) is the class main() catches.
    from pipeline import cli

    sys.exit(cli.main())
