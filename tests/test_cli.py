"""The console script answers --help for every command and keeps Keras 2 selected."""
import os
import subprocess
import sys

import pytest

from pipeline import cli


@pytest.mark.parametrize("command", [[], ["run"], ["data", "synth"], ["data", "fetch"], ["report"],
                                     ["kubeflow", "compile"], ["kubeflow", "submit"]])
def test_help_lists_usage(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(command + ["--help"])
    assert exit_info.value.code == 0
    assert "usage: gc-tfx" in capsys.readouterr().out


def test_run_defaults_match_the_seed_experiment():
    args = cli.build_parser().parse_args(["run"])
    assert (args.epochs, args.batch_size, args.image_size) == (10, 128, 300)


def test_console_script_selects_legacy_keras_before_tensorflow():
    environment = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    code = ("from pipeline import cli; import tensorflow as tf; import tf_keras; "
            "print(tf.keras.optimizers.SGD is tf_keras.optimizers.SGD)")
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "True"
