"""`gc-tfx`: the command line of the project (data synth/fetch, run, report, kubeflow compile/submit).

Subcommands import TensorFlow/TFX lazily, so `gc-tfx --help` answers at once and a bad flag fails before any heavy
import.
"""
import argparse
import logging as python_logging
import os
import sys
import warnings
from typing import List, Optional

from absl import logging

from cli import allocator, disk_space, output_lock
from cli.data_commands import add_data_commands
from cli.errors import UserError
from cli.experiment_flags import add_experiment_arguments, experiment_from_arguments
from cli.kubeflow_commands import add_kubeflow_commands

DEFAULT_OUTPUT = "gc_tfx_output"


def _add_run_command(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="Run the whole pipeline locally (LocalDagRunner): train with and without GC, compare, push.")
    run.add_argument("--data", help="Image folder with train/ and test/; without it the default data is synthesized.")
    run.add_argument("--output", default=DEFAULT_OUTPUT,
                     help=f"Folder for artifacts, ML Metadata and the pushed model (default: {DEFAULT_OUTPUT}).")
    add_experiment_arguments(run)
    run.add_argument("--beam-workers", type=int, default=None,
                     help="Beam DirectRunner worker processes; 1 runs Beam in this process, which starts faster "
                          "(default: 1 for a data folder of fewer than 5,000 files, else one per core).")
    run.add_argument("--no-cache", action="store_true", help="Rerun every component instead of reusing results.")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logging.info(allocator.describe())
    experiment = experiment_from_arguments(args)
    if args.data is not None and not os.path.isdir(args.data):  # before the output folder is made
        raise UserError(f"--data {args.data} is not a folder; expected {args.data}/train/{{horses,humans}} and "
                        f"{args.data}/test/{{horses,humans}}.")
    # The folder is held before TFX is imported, so a second run on it is refused at once; and here, after the
    # re-execution with tcmalloc, in the process that runs the pipeline.
    with disk_space.full_disk_as_user_error(args.output), output_lock.hold_output_folder(args.output, "gc-tfx run"):
        from cli import run_command

        return run_command.run(data=args.data, output=args.output, experiment=experiment,
                               beam_workers=args.beam_workers, enable_cache=not args.no_cache, verbose=args.verbose)


def _report(args: argparse.Namespace) -> int:
    with disk_space.full_disk_as_user_error(args.output), output_lock.hold_output_folder(
            args.output, "gc-tfx report", create_folder=False):
        from cli import latest_run
        from report.run_results import ResultsError

        try:
            _, files = latest_run.write_local_report(args.output)
        except latest_run.RunNotFinished as error:
            raise UserError(str(error)) from error
        except ResultsError as error:
            raise UserError(f"The latest run in {args.output} finished, but {error}") from error
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gc-tfx",
        description="Train one CNN with and without Gradient Centralization, compare them fairly, push the better.")
    parser.add_argument("--verbose", action="store_true", help="Show TFX/Beam/TensorFlow logs.")
    subparsers = parser.add_subparsers(dest="command", required=True,
                                       metavar="{data,run,report,kubeflow}")
    add_data_commands(subparsers)
    _add_run_command(subparsers)
    _add_report_command(subparsers)
    add_kubeflow_commands(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """The command; `argv` None means this process's own arguments (the console script, `python -m cli`)."""
    args = build_parser().parse_args(argv)
    if argv is None and args.command == "run":
        allocator.reexecute_with_tcmalloc(sys.argv[1:])  # returns only where tcmalloc is missing or loaded
    # TensorFlow's C++ start-up chatter (CUDA plugins, CPU features); read when TensorFlow loads, which every
    # subcommand does lazily, after this line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if args.verbose else "3")
    logging.use_absl_handler()
    # INFO records still reach cli.console_progress (one line per component); the console shows them only
    # with --verbose. Without it, errors too: a failure is said once, in the paragraph the command ends with, not
    # also as TFX's "Execution 8 failed." above it.
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setLevel(python_logging.INFO if args.verbose else python_logging.CRITICAL)
    if not args.verbose:
        # Third-party deprecation and runtime warnings, not the user's concern: here, and in the processes this one
        # starts (Beam's DirectRunner workers print google.api_core FutureWarnings and TFMA RuntimeWarnings).
        warnings.simplefilter("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")
    try:
        return args.handler(args) or 0
    except UserError as error:
        print(f"gc-tfx: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gc-tfx: interrupted; rerun the same command to resume from the cache.", file=sys.stderr)
        return 130
