"""The experiment's flags, defined once for `gc-tfx run` and `gc-tfx kubeflow compile`, so both build the same
pipeline; defaults and checks come from pipeline.experiment."""
import argparse

from cli.errors import UserError
from pipeline.experiment import ExperimentConfig
from trainer.config import TrainingConfig


def add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ExperimentConfig()
    training = defaults.training
    parser.add_argument("--epochs", type=int, default=training.epochs,
                        help=f"Training epochs per model (default: {training.epochs}).")
    parser.add_argument("--batch-size", type=int, default=training.batch_size,
                        help="Batch size per replica; the global batch scales with the GPU count "
                             f"(default: {training.batch_size}).")
    parser.add_argument("--image-size", type=int, default=training.image_size,
                        help=f"Side images are resized to (default: {training.image_size}).")
    parser.add_argument("--seed", type=int, default=training.seed,
                        help="Seed for initial weights, data order and augmentation, shared by both models of a pair "
                             f"(default: {training.seed}).")
    parser.add_argument("--seeds", type=int, default=defaults.seed_count,
                        help="Pairs of models to train, one GC and one baseline per seed (seeds --seed, --seed + 1, "
                             "...); the verdict is about GC only with several: 8 lets the exact test reach p < 0.05 "
                             f"with room to spare (default: {defaults.seed_count}).")
    parser.add_argument("--eval-percent", type=int, default=defaults.eval_percent,
                        help="Share of train/ held out (by file-name hash) for validation during training "
                             f"(default: {defaults.eval_percent}).")
    parser.add_argument("--quality-floor", type=float, default=defaults.quality_floor,
                        help="Minimum test binary accuracy a model needs to be pushed; above 1 nothing is ever "
                             f"pushed (default: {defaults.quality_floor}).")
    parser.add_argument("--force-push", action="store_true",
                        help="Push the chosen model even if the model already serving at the push destination "
                             "scores as high or higher on this run's test split (the quality floor still holds); "
                             "the selection record says the push was forced.")


def experiment_from_arguments(args: argparse.Namespace) -> ExperimentConfig:
    """The experiment the flags describe; UserError naming the flag when one is out of range."""
    try:
        return ExperimentConfig(
            training=TrainingConfig(epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size,
                                    seed=args.seed),
            eval_percent=args.eval_percent, quality_floor=args.quality_floor, seed_count=args.seeds,
            force_push=args.force_push)
    except ValueError as error:
        raise UserError(str(error)) from error
