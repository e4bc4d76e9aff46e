"""The console script answers --help for every command and keeps Keras 2 selected."""
import os
import subprocess
import sys

import pytest

from cli import allocator, experiment_flags, main as cli
from pipeline.experiment import ExperimentConfig
from trainer.config import LEARNING_RATE, TrainingConfig


@pytest.mark.parametrize("command", [[], ["run"], ["data", "synth"], ["data", "fetch"], ["report"],
                                     ["kubeflow", "compile"], ["kubeflow", "submit"]])
def test_help_lists_usage(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(command + ["--help"])
    assert exit_info.value.code == 0
    assert "usage: gc-tfx" in capsys.readouterr().out


def test_the_default_experiment_is_the_seed_experiment():
    """The keras.io example's settings (10 epochs, batch 128, 300 px, RMSprop 1e-4), reached with no flag."""
    args = cli.build_parser().parse_args(["run"])
    experiment = experiment_flags.experiment_from_arguments(args)
    assert experiment == ExperimentConfig()
    training = experiment.training
    assert (training.epochs, training.batch_size, training.image_size) == (10, 128, 300)
    assert LEARNING_RATE == 1e-4
    assert experiment.seeds == [42]  # one pair: the design card's two Trainers
    assert experiment.force_push is False  # a worse model never replaces the serving one unless asked


def test_force_push_is_a_flag_of_run_and_compile():
    for command in (["run"], ["kubeflow", "compile", "--image", "i:1", "--pipeline-root", "gs://b/r",
                              "--data-root", "gs://b/d"]):
        args = cli.build_parser().parse_args([*command, "--force-push"])
        assert experiment_flags.experiment_from_arguments(args).force_push is True


def test_seeds_count_up_from_the_seed():
    experiment = ExperimentConfig(training=TrainingConfig(seed=7), seed_count=3)
    assert experiment.seeds == [7, 8, 9]
    assert [experiment.trainer_custom_config("gc", seed)["seed"] for seed in experiment.seeds] == [7, 8, 9]


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs must be a whole number of at least 1, got 0."),
    (["--batch-size", "-2"], "--batch-size must be a whole number of at least 1, got -2."),
    (["--image-size", "93"], "--image-size 93 is too small for the CNN's five conv/pool blocks; use at least 94."),
    (["--eval-percent", "0"], "--eval-percent must be a whole number from 1 to 50"),
    (["--quality-floor", "nan"], "--quality-floor must be a number >= 0"),
    (["--seeds", "0"], "--seeds must be a whole number from 1 to 64, got 0."),
    (["--seeds", "65"], "--seeds must be a whole number from 1 to 64, got 65."),
])
def test_run_rejects_a_bad_experiment_flag_before_any_heavy_import(flags, message, capsys):
    assert cli.main(["run", *flags]) == 1
    error = capsys.readouterr().err
    assert error.startswith("gc-tfx: error: ") and message in error and "Traceback" not in error


def test_console_script_selects_legacy_keras_before_tensorflow():
    environment = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    code = ("import cli.main; import tensorflow as tf; import tf_keras; "
            "print(tf.keras.optimizers.SGD is tf_keras.optimizers.SGD)")
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_a_bad_flag_fails_before_tensorflow_is_imported():
    code = ("import sys; from cli import main; status = main.main(['run', '--epochs', '0']); "
            "print(status, 'tensorflow' in sys.modules, 'tfx' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "1 False False"


@pytest.mark.parametrize("choice", ["default", "glibc"])
def test_run_reexecutes_itself_with_tcmalloc_when_installed_and_says_which_allocator_runs(choice):
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    if choice == "glibc":
        environment[allocator.CHOICE_VARIABLE] = "glibc"
    result = subprocess.run([sys.executable, "-m", "cli", "--verbose", "run", "--epochs", "0"], env=environment,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1 and "--epochs must be a whole number" in result.stderr
    if choice == "glibc":
        assert "Memory allocator: glibc malloc." in result.stderr
    elif allocator.find_tcmalloc():  # `make setup` installs it wherever apt-get can
        assert "Memory allocator: tcmalloc." in result.stderr
    else:
        assert "Memory allocator: glibc malloc; training runs faster with tcmalloc" in result.stderr


def test_without_verbose_the_processes_a_command_starts_print_no_warnings(monkeypatch, tmp_path):
    """Beam's worker processes are separate interpreters: they inherit the filter through the environment."""
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    assert cli.main(["data", "synth", str(tmp_path / "out"), "--train", "2", "--test", "2", "--image-size", "32"]) == 0
    child = subprocess.run([sys.executable, "-c", "import warnings; warnings.warn('noise', FutureWarning)"],
                           capture_output=True, text=True, check=True, timeout=60)
    assert os.environ["PYTHONWARNINGS"] == "ignore" and child.stderr == ""


def test_beam_runs_in_process_below_the_file_count_the_help_names(tmp_path, monkeypatch, capsys):
    import local_runner

    monkeypatch.setattr(local_runner, "IN_PROCESS_BELOW_FILES", 6)
    for index in range(5):
        folder = tmp_path / ("train" if index % 2 else "test") / "horses"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index}.png").write_bytes(b"")
    assert local_runner.default_beam_workers(str(tmp_path)) == 1
    (tmp_path / "test" / "humans").mkdir()
    (tmp_path / "test" / "humans" / "5.png").write_bytes(b"")
    assert local_runner.default_beam_workers(str(tmp_path)) == (os.cpu_count() or 1)
    monkeypatch.undo()
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"fewer than {local_runner.IN_PROCESS_BELOW_FILES:,} files" in help_text


def test_a_data_folder_that_is_missing_is_refused_before_the_output_folder_is_made(tmp_path, capsys):
    output, data = tmp_path / "output", tmp_path / "missing"
    assert cli.main(["run", "--data", str(data), "--output", str(output), "--epochs", "1"]) == 1
    assert capsys.readouterr().err == (f"gc-tfx: error: --data {data} is not a folder; expected "
                                       f"{data}/train/{{horses,humans}} and {data}/test/{{horses,humans}}.\n")
    assert not output.exists()
