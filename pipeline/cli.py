"""The `gc-tfx` command line: data synth/fetch, run, report, kubeflow compile/submit.

Subcommands import TensorFlow/TFX lazily, so `gc-tfx --help` answers at once.
"""
import os

# Keras 2 (tf_keras) for TFT, TFMA and our trainer: must be set before anything imports TensorFlow.
os.environ["TF_USE_LEGACY_KERAS"] = "1"

import argparse
import logging as python_logging
import sys
from typing import Callable, List, Optional

from absl import logging

DEFAULT_OUTPUT = "gc_tfx_output"


class UserError(Exception):
    """An error the user can fix; printed as one paragraph without a stack trace."""


def _not_implemented(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(_: argparse.Namespace) -> int:
        raise UserError(f"`gc-tfx {name}` is not implemented yet.")

    return handler


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
    synth.set_defaults(handler=_not_implemented("data synth"))

    fetch = data_commands.add_parser("fetch", help="Download the official Horses-or-Humans zips, checksum-verified.")
    fetch.add_argument("out", help="Folder to write train/{horses,humans} and test/{horses,humans} into.")
    fetch.set_defaults(handler=_not_implemented("data fetch"))


def _add_run_command(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="Run the whole pipeline locally (LocalDagRunner): train with and without GC, compare, push.")
    run.add_argument("--data", help="Image folder with train/ and test/; without it the default data is synthesized.")
    run.add_argument("--output", default=DEFAULT_OUTPUT,
                     help=f"Folder for artifacts, ML Metadata and the pushed model (default: {DEFAULT_OUTPUT}).")
    run.add_argument("--epochs", type=int, default=10, help="Training epochs per model (default: 10).")
    run.add_argument("--batch-size", type=int, default=128,
                     help="Batch size per replica; the global batch scales with the GPU count (default: 128).")
    run.add_argument("--image-size", type=int, default=300, help="Side images are resized to (default: 300).")
    run.add_argument("--seed", type=int, default=42,
                     help="Seed for initial weights, data order and augmentation, shared by both models.")
    run.add_argument("--quality-floor", type=float, default=0.5,
                     help="Minimum test binary accuracy a model needs to be pushed (default: 0.5).")
    run.add_argument("--no-cache", action="store_true", help="Rerun every component instead of reusing results.")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    for name in ("epochs", "batch_size", "image_size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if not 0.0 <= args.quality_floor <= 1.0:
        raise UserError(f"--quality-floor must be between 0 and 1, got {args.quality_floor}.")
    from pipeline import local_run_command

    return local_run_command.run(
        data=args.data, output=args.output, epochs=args.epochs, batch_size=args.batch_size,
        image_size=args.image_size, seed=args.seed, quality_floor=args.quality_floor,
        enable_cache=not args.no_cache, verbose=args.verbose)


def _add_report_command(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help="Write a standalone HTML report of the latest run.")
    report.add_argument("--output", default=DEFAULT_OUTPUT, help="The run's output folder.")
    report.set_defaults(handler=_not_implemented("report"))


def _add_kubeflow_commands(subparsers: argparse._SubParsersAction) -> None:
    kubeflow = subparsers.add_parser("kubeflow", help="Compile the pipeline for Kubeflow Pipelines v2 and submit it.")
    kubeflow_commands = kubeflow.add_subparsers(dest="kubeflow_command", required=True,
                                                metavar="{compile,submit}")
    compile_parser = kubeflow_commands.add_parser("compile", help="Compile a KFP v2 pipeline package (YAML).")
    compile_parser.set_defaults(handler=_not_implemented("kubeflow compile"))
    submit = kubeflow_commands.add_parser("submit", help="Upload a compiled package and start a run.")
    submit.set_defaults(handler=_not_implemented("kubeflow submit"))


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
    logging.use_absl_handler()
    # INFO records still reach pipeline.progress (one line per component); the console shows them only
    # with --verbose.
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setLevel(python_logging.INFO if args.verbose else python_logging.WARNING)
    try:
        return args.handler(args) or 0
    except UserError as error:
        print(f"gc-tfx: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gc-tfx: interrupted; rerun the same command to resume from the cache.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
