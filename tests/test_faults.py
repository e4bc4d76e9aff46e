"""Faults a user meets, on one tiny output folder: a killed run, a full disk, a second run, a second clone.

One story of three `gc-tfx run` processes with the same flags, started as a user starts them, so that the pipeline
runs about once in all (a whole run costs a minute); each test reads what its step left:
1. the run (on a tmpfs of FULL_DISK_KIB where one can be mounted), killed with SIGKILL at the end of the first
   Trainer's epoch, before it exports its model;
2. the same command, which resumes from the cache and, on the tmpfs, fills it after the Trainers and the Evaluator
   (the selection and the push copy the model again) and fails; the tmpfs then grows to GROWN_DISK_MIB;
3. the same command from a second clone of the repository, which must take everything but the selection and the
   push from the cache; while it runs, a second `gc-tfx run` and a `gc-tfx report` on the folder are refused.
"""
import dataclasses
import os
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import pytest

import fault_runs
import image_fixtures
import shared_run
import tmpfs

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("faults")]

# Measured at these flags: about 0.5 MB before the Trainers, 1.5 MB per Trainer's model, 0.25 MB of evaluation,
# then 1.5 MB for each of the selection's and the Pusher's copies of the model.
FULL_DISK_KIB = 4608
GROWN_DISK_MIB = 64
# What a run identical to a finished one executes again: the selection is never cached, so the Pusher and the
# Review step get new inputs.
NEVER_CACHED_NODES = shared_run.RERUN_NODES


@dataclasses.dataclass(frozen=True)
class FaultStory:
    output: str
    clone: str
    killed: fault_runs.Finished
    killed_trainer: str
    states_after_kill: Dict[str, str]
    after_kill: fault_runs.Finished  # the same command; on a tmpfs it fills the disk
    states_after_kill_resumed: Dict[str, str]
    disk: Optional[tmpfs.Tmpfs]  # None where no tmpfs could be mounted
    no_tmpfs_reason: str
    from_the_clone: fault_runs.Finished
    clone_code: str  # where the clone's run imported the `cli` package from
    states_from_the_clone: Dict[str, str]
    second_run: fault_runs.Finished  # started while `from_the_clone` held the folder
    report_while_running: fault_runs.Finished


def _killed_in_a_trainer(flags: List[str], logs: str) -> Tuple[fault_runs.Finished, str]:
    command = fault_runs.Command(flags, os.path.join(logs, "killed"))
    command.wait_until(lambda: fault_runs.EPOCH_LINE.search(command.stdout()), timeout=600,
                       what="Trainer epoch line")
    command.kill()
    epoch = fault_runs.EPOCH_LINE.search(command.stdout())
    return command.finish(), f"trainer_{epoch['method']}_seed{epoch['seed']}"


def _from_the_clone_while_others_try(flags: List[str], output: str, clone: str, logs: str):
    environment = dict(os.environ, PYTHONPATH=clone)
    code = subprocess.run([sys.executable, "-c", "import cli; print(cli.__file__)"], cwd=clone, env=environment,
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    command = fault_runs.Command(flags, os.path.join(logs, "from_the_clone"), cwd=clone, environment=environment)
    command.wait_until(lambda: fault_runs.holder_pid(output) == command.process.pid, timeout=120,
                       what="lock note of the clone's run")
    second_run = fault_runs.gc_tfx(flags, os.path.join(logs, "second_run"))
    report = fault_runs.gc_tfx(["report", "--output", output], os.path.join(logs, "report_while_running"))
    return command.finish(), code, second_run, report


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> FaultStory:
    root = str(tmp_path_factory.mktemp("faults"))
    data, logs, clone, disk_path = (os.path.join(root, name) for name in ("data", "logs", "clone", "disk"))
    os.makedirs(logs)
    image_fixtures.write_clean_data_folder(data, fault_runs.TRAIN_IMAGES_PER_CLASS, fault_runs.TEST_IMAGES_PER_CLASS)
    fault_runs.clone_working_tree(clone)
    try:
        disk, no_tmpfs_reason = tmpfs.Tmpfs(disk_path, f"{FULL_DISK_KIB}k"), ""
    except tmpfs.MountRefused as refusal:
        disk, no_tmpfs_reason = None, str(refusal)
    output = os.path.join(disk_path, "output")
    flags = fault_runs.run_flags(data, output)
    try:
        killed, killed_trainer = _killed_in_a_trainer(flags, logs)
        states_after_kill = fault_runs.latest_states(output)
        after_kill = fault_runs.gc_tfx(flags, os.path.join(logs, "after_kill"))
        states_after_kill_resumed = fault_runs.latest_states(output)
        if disk is not None:
            disk.resize(f"{GROWN_DISK_MIB}M")
        from_the_clone, clone_code, second_run, report = _from_the_clone_while_others_try(flags, output, clone, logs)
        yield FaultStory(output=output, clone=clone, killed=killed, killed_trainer=killed_trainer,
                         states_after_kill=states_after_kill, after_kill=after_kill,
                         states_after_kill_resumed=states_after_kill_resumed, disk=disk,
                         no_tmpfs_reason=no_tmpfs_reason, from_the_clone=from_the_clone, clone_code=clone_code,
                         states_from_the_clone=fault_runs.latest_states(output), second_run=second_run,
                         report_while_running=report)
    finally:
        if disk is not None:
            disk.unmount()


def test_a_run_killed_in_a_trainer_leaves_no_lock_and_the_same_command_resumes_from_the_cache(story):
    assert story.killed.return_code == -9
    assert story.states_after_kill[story.killed_trainer] == "RUNNING"  # killed before it finished
    states = story.states_after_kill_resumed  # the same command went past the lock and the Trainers
    assert {node: states[node] for node in fault_runs.UPSTREAM_NODES} == dict.fromkeys(fault_runs.UPSTREAM_NODES,
                                                                                      "CACHED")
    assert states[story.killed_trainer] == "COMPLETE"
    assert all(states[node] == "COMPLETE" for node in states if node.startswith(("trainer_", "evaluator_")))


def test_a_full_disk_is_one_sentence_about_space_and_the_same_command_resumes(story):
    if story.disk is None:
        pytest.skip(f"no small disk to fill: {story.no_tmpfs_reason}")
    full_disk = story.after_kill
    assert full_disk.return_code == 1
    assert full_disk.stderr.startswith("gc-tfx: error: component ")
    assert full_disk.stderr.endswith(
        f" failed: no space left on the disk holding {story.output}; free space and rerun the same command to "
        "resume.\n")
    assert full_disk.stderr.count("\n") == 1  # one paragraph: no traceback, no SQL, no log line
    assert story.from_the_clone.return_code == 0, story.from_the_clone.stderr[-4000:]  # once the disk grew
    assert "\nPushed to " in story.from_the_clone.stdout


def test_a_second_command_on_a_folder_in_use_is_refused_at_once_naming_the_folder_and_its_holder(story):
    holder = (f"{story.output} is in use by `gc-tfx run` (PID {story.from_the_clone.pid} on host "
              f"{socket.gethostname()}, started ")
    for refused in (story.second_run, story.report_while_running):
        assert refused.return_code == 1
        assert refused.stderr.startswith(f"gc-tfx: error: {holder}") and refused.stderr.count("\n") == 1
        assert refused.stderr.endswith("; one command at a time per output folder: wait for it to finish, or give "
                                       "another --output.\n")
        assert refused.seconds < 20  # before TFX is even imported
    assert story.second_run.stdout == ""  # no component ran, not even the data check
    assert story.from_the_clone.return_code == 0  # the run holding the folder finished undisturbed
    assert fault_runs.holder_pid(story.output) is None  # and cleared its note


def test_the_same_output_used_from_a_second_clone_reuses_every_cached_component(story):
    assert story.clone_code == os.path.join(story.clone, "cli", "__init__.py")  # the clone's code ran
    assert story.from_the_clone.return_code == 0, story.from_the_clone.stderr[-4000:]
    assert story.states_from_the_clone == {node: "COMPLETE" if node in NEVER_CACHED_NODES else "CACHED"
                                           for node in fault_runs.NODES}
