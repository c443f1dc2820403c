"""What a run on the worker's path learns of the host from ``/proc/self/mountinfo``.

A bind mount's "root" field is the path of its source inside the source's filesystem, and
bwrap cannot change it: binding through a neutral path (the root worker's ``/tmp/<n>``
staging, :mod:`algorithms.sandbox.hostuser`) still shows the original path. So a run sees
the paths of the folders bound into it, and of nothing else: the runtime, and its own
working folder's ``code`` and ``task``, named after the run (``algorithm-run-<run
id>-<worker pid>.<start>-<random>``), never after a team, a challenge or a task. Another
run's folder next to it, and every name of the platform, stay out of sight.
(docs/operators/security.md, "The sandbox": what the sandbox shows.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun
from algorithms.sandbox.command import runtime_paths
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.staging import staging_folder_create, staging_root
from tests.algorithms_tests.archives import HONEST_MAIN, algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue

pytestmark = pytest.mark.slow

SHOW_MOUNTS = (
    """
for line in open("/proc/self/mountinfo"):
    print("MOUNTINFO", line.rstrip("\\n"))
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
    assert len(lines) > 10

    # Each line: id parent major:minor root point options [optional...] - type source super.
    binds = {}
    for line in lines:
        fields, _, after = line.partition(" - ")
        _, _, _, root, point, *_ = fields.split()
        fstype, source, *_ = after.split()
        if fstype not in ("tmpfs", "proc", "devtmpfs"):
            binds[point] = root
            assert source.startswith("/dev/") or source in ("overlay", "none"), line
    own = Path(binds["/code"]).parent
    assert own.parent == staging_root().resolve()
    assert re.fullmatch(rf"algorithm-run-{run['id']}-\d+\.\d+-\w+", own.name), own.name
    assert binds["/task"] == str(own / "task")
    runtime = {str(path) for path in runtime_paths()}
    assert set(binds) - {"/code", "/task"} <= runtime | {"/usr", "/etc/ld.so.cache"}
    assert all(binds[point] == point for point in set(binds) - {"/code", "/task"})

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
