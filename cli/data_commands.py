"""`gc-tfx data synth` and `gc-tfx data fetch`: the image folders the pipeline reads."""
import argparse

from cli.errors import UserError
from datasets import layout  # light: NumPy and Pillow load only when a command draws


def _synthesize_data(args: argparse.Namespace) -> int:
    from datasets import synthetic

    try:
        summary = synthetic.write_synthetic_dataset(args.out, train_size=args.train, test_size=args.test,
                                                    image_size=args.image_size, seed=args.seed)
    except (ValueError, OSError) as error:  # bad arguments, a folder we may not overwrite, a full disk
        raise UserError(str(error)) from error
    print(synthetic.describe(summary))
    return 0


def _fetch_data(args: argparse.Namespace) -> int:
    from datasets import tfds_source

    try:
        summary = tfds_source.fetch_horses_or_humans(args.out, tfds_data_dir=args.tfds_data_dir)
    except (tfds_source.FetchError, layout.OutputFolderError, OSError) as error:
        raise UserError(str(error)) from error
    print(tfds_source.describe(summary))
    return 0


def add_data_commands(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="Create or download the Horses-or-Humans image folders.")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="{synth,fetch}")

    synth = data_commands.add_parser(
        "synth", help="Draw the embedded default dataset: horse-like and human-like figures.")
    synth.add_argument("out", help="Folder to write train/{horses,humans} and test/{horses,humans} into.")
    synth.add_argument("--train", type=int, default=layout.REAL_TRAIN_SIZE,
                       help=f"Training images (default: {layout.REAL_TRAIN_SIZE}, as the real data).")
    synth.add_argument("--test", type=int, default=layout.REAL_TEST_SIZE,
                       help=f"Test images (default: {layout.REAL_TEST_SIZE}, as the real data).")
    synth.add_argument("--image-size", type=int, default=layout.REAL_IMAGE_SIZE,
                       help=f"Image side in pixels (default: {layout.REAL_IMAGE_SIZE}).")
    synth.add_argument("--seed", type=int, default=0, help="Random seed; the same seed draws the same images.")
    synth.set_defaults(handler=_synthesize_data)

    fetch = data_commands.add_parser(
        "fetch", help="The real Horses-or-Humans through tensorflow-datasets (horses_or_humans 3.0.0): a prepared "
                      "copy in the TFDS data directory is used offline, otherwise TFDS downloads and verifies it.")
    fetch.add_argument("out", help="Folder to write train/{horses,humans} and test/{horses,humans} into.")
    fetch.add_argument("--tfds-data-dir", metavar="DIR",
                       help="TFDS data directory to read (or prepare) the dataset in (default: TFDS's own: "
                            "TFDS_DATA_DIR, else ~/tensorflow_datasets).")
    fetch.set_defaults(handler=_fetch_data)
