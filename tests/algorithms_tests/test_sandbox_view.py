"""What a run on the worker's path learns of the host from ``/proc``.

A bind mount's "root" field is the path of its source inside the source's filesystem, and
bwrap cannot change it: binding through a neutral path still shows the original path. So
the program's own ``/proc/self/mountinfo`` and ``mounts`` are replaced (issue 66) by the
sandbox's mount points alone; its ``/proc/loadavg`` is the sandbox's, ``/proc/pressure``
empty, ``kallsyms``, ``iomem`` and ``config.gz`` empty files (algorithms/sandbox/command.py).
Its working folder is named after the run (``algorithm-run-<run id>-<worker pid>.<start>-
<random>``), never after a team, a challenge or a task; another run's folder next to it,
and every name of the platform, stay out of sight.
(docs/operators/security.md, "The sandbox": what the sandbox shows.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun
from algorithms.sandbox.command import LOADAVG, MOUNTINFO, MOUNTS, runtime_paths
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.staging import staging_folder_create, staging_root
from testkit.archives import HONEST_MAIN, algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue

pytestmark = pytest.mark.slow

SHOW_MOUNTS = (
    """
import os
for line in open("/proc/self/mountinfo"):
    print("MOUNTINFO", line.rstrip("\\n"))
for line in open("/proc/self/mounts"):
    print("MOUNTS", line.rstrip("\\n"))
print("LOADAVG", open("/proc/loadavg").read().strip())
print("PRESSURE", sorted(os.listdir("/proc/pressure")) if os.path.isdir("/proc/pressure") else [])
for name in ("kallsyms", "iomem", "config.gz"):
    if os.path.exists("/proc/" + name):
        print("MASKED", name, len(open("/proc/" + name, "rb").read()))
print("CPUS", os.cpu_count(), "MEMINFO", open("/proc/meminfo").readline().split()[0])
"""
    + HONEST_MAIN
)


def test_a_run_sees_its_own_folders_and_nothing_of_another_team(world, broker) -> None:
    client = world.participant.api()
    ours = post_archive(client, world.challenge, algorithm_zip(SHOW_MOUNTS)).json()
    (run,) = queue(client, ours["id"], tasks=[world.classification.slug]).json()["runs"]
    rival = world.rival.api()
    theirs = post_archive(rival, world.challenge, algorithm_zip(name="Rival Secret")).json()
    (their_run,) = queue(rival, theirs["id"], tasks=[world.classification.slug]).json()["runs"]
    their_folder = staging_folder_create(run_pk=their_run["id"])  # as if it ran beside ours
    (their_folder / "code").mkdir()

    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded"  # the oldest: ours
    assert AlgorithmRun.objects.get(pk=their_run["id"]).status == "queued"
    log = AlgorithmRun.objects.get(pk=run["id"]).log_tail
    lines = [line.split(" ", 1)[1] for line in log.splitlines() if line.startswith("MOUNTINFO ")]
    mounts = [line.split(" ", 1)[1] for line in log.splitlines() if line.startswith("MOUNTS ")]
    # Issue 66: the program's mount table names the sandbox's mount points only, no host
    # path (a bind's root field would be its host source: the runtime, the run's folder).
    assert "\n".join(lines) + "\n" == MOUNTINFO.decode()
    assert "\n".join(mounts) + "\n" == MOUNTS.decode()
    runtime = {str(path) for path in runtime_paths()}
    for path in [*runtime, str(staging_root().resolve()), str(Path.cwd())]:
        assert path not in log, path
    # ... and the load and pressure of the host do not show: two runs cannot read each
    # other's load through them. What the runtime needs still does.
    assert f"LOADAVG {LOADAVG.decode().strip()}" in log
    assert "PRESSURE []" in log
    assert all(line.endswith(" 0") for line in log.splitlines() if line.startswith("MASKED "))
    assert re.search(r"^CPUS [1-9]\d* MEMINFO MemTotal:$", log, re.MULTILINE), log

    text = "\n".join(lines)
    for name in (
        their_folder.name,
        f"algorithm-run-{their_run['id']}-",
        "Rival Secret",
        world.rival.team.name,
        world.participant.team.name,
        world.challenge.slug,
        world.classification.slug,
    ):
        assert name not in text, name
