"""A baseline's run in the tests: its row as ``baseline_run_queue`` makes one, read back, and
the sandbox processes that run it (found by their entrypoint, in ``/proc``), for the
baseline, algorithm, scoring and command-line tests."""

from __future__ import annotations

import os

import psutil

from algorithms.models import AlgorithmRun, BaselineRun
from algorithms.services.builtin import baseline_algorithm_version
from algorithms.services.profiles import BASELINE

# The sandbox runs the baseline algorithm's entrypoint as /code/main.py.
ENTRYPOINT = "/code/main.py"


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes in group ``pgid`` that are not zombies (Linux ``/proc``)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


def run_state(pk: int) -> AlgorithmRun:
    return BaselineRun.objects.select_related("submission").get(pk=pk)


def make_run(task, **fields) -> AlgorithmRun:
    """A baseline run row of the built-in version, as ``baseline_run_queue`` makes one."""
    options = {"presets": "medium_quality", "time_limit": 30, "hard_timeout": 180}
    defaults = {
        "version": baseline_algorithm_version(challenge=task.track.challenge),
        "task": task,
        "options": options,
        "limits": BASELINE.limits(options=options).as_dict(),
    }
    return BaselineRun.objects.create(**{**defaults, **fields})


def runner_processes(root_pid: int) -> list[psutil.Process]:
    """The sandbox processes running the baseline below ``root_pid`` (a worker's main
    process): bwrap, its init and the algorithm, all named by their entrypoint."""
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in children:
        try:
            command = " ".join(proc.cmdline())
            if ENTRYPOINT in command:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return found


def process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (or is a zombie) and its process group is empty."""
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    return not alive and not live_group_members(pid)
