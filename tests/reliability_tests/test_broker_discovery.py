"""Every process of an install finds its broker, and a command says when it could not
(issue 36), with the real ``make run`` process tree (``manage.py runplatform``).

The platform runs in one "shell" with its own data folder; the organizer's commands run in
another, with the same ``DATA_DIR`` and no ``REDIS_URL``: they find the run command's Redis
and its password from the data folder (``runtime.localredis.embedded_redis_url``).

1. ``manage.py import_task`` from the second shell queues the benchmark re-runs of the new
   task, and they are done with no further action.
2. With the broker stopped, the same command exits non-zero with one line that names the
   cause; its re-runs are saved, and once the broker is back they run: the beat publishes
   their lost messages again (``JOB_REPUBLISH_SECONDS``, 10 s here).
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from runtime.localredis import LocalRedis, start_local_redis
from testkit.bundles import write_classification_bundle
from tests.support.platform_run import Platform, running_platform
from tests.support.processes import descendants
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker]

BOUND = 10  # JOB_REPUBLISH_SECONDS of the platform under test

SETUP = """
from django.core.files.uploadedfile import SimpleUploadedFile
from django.contrib.auth import get_user_model

from algorithms.services.upload import algorithm_version_create
from challenges.models import Challenge
from challenges.services import team_create
from testkit.archives import algorithm_zip

challenge = Challenge.objects.get(slug="discovery")
ada = get_user_model().objects.create_user("ada", "ada@example.org", "not-used-here")
team_create(challenge=challenge, user=ada, name="Owls")
archive = SimpleUploadedFile("honest.zip", algorithm_zip(name="Honest"))
algorithm_version_create(challenge=challenge, user=ada, file=archive)
print("set up")
"""




def reruns(platform: Platform, task: str) -> list[str]:
    """The statuses of the benchmark re-runs on ``task``, read from the database file."""
    database = platform.data_dir / "db.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT r.status FROM algorithms_algorithmrun r JOIN datasets_task t"
            " ON r.task_id = t.id WHERE t.slug = ? AND r.profile = 'benchmark'",
            (task,),
        ).fetchall()
    return [status for (status,) in rows]


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # The re-runs are this test's jobs: no AutoGluon fit and trivial build on arrival
    # (tests/baselines_tests/test_arrival.py is about those).
    settings = {"JOB_REPUBLISH_SECONDS": str(BOUND), "REPRODUCTION_SHARE": "0"}
    with running_platform(tmp_path / "var", BENCHMARK_ON_ARRIVAL="0", **settings) as running:
        yield running


def _redis_of(platform: Platform) -> psutil.Process:
    (server,) = [
        p
        for p in descendants(platform.process.pid)
        if p.name() == "redis-server" or "redis-server" in " ".join(p.cmdline()[:1])
    ]
    return server


def _bundle(tmp_path: Path, slug: str) -> Path:
    return write_classification_bundle(
        tmp_path / slug, rows=60, task={"slug": slug, "title": slug.title()}
    )


def test_a_second_shell_s_commands_reach_the_broker_or_say_they_could_not(
    platform: Platform, tmp_path: Path
) -> None:
    first = _bundle(tmp_path, "first")
    done = platform.manage("import_task", str(first), "--challenge", "discovery", "--track", "t")
    assert done.returncode == 0, done.stderr
    setup = platform.manage("shell", "-c", textwrap.dedent(SETUP))
    assert setup.returncode == 0 and "set up" in setup.stdout, setup.stderr

    # 1. The broker is found: the re-runs of a task imported from this shell just run.
    second = _bundle(tmp_path, "second")
    done = platform.manage("import_task", str(second), "--challenge", "discovery", "--track", "t")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    wait_for(
        lambda: reruns(platform, "second") == ["succeeded"],
        timeout=240,
        what=f"the re-run of the task imported from a second shell:\n{platform.log_tail()}",
    )

    # 2. The broker stops: the command exits non-zero with one line, nothing is lost.
    server = _redis_of(platform)
    server.kill()  # runplatform, its parent, reaps it only when it stops: a zombie is gone
    wait_for(
        lambda: not server.is_running() or server.status() == psutil.STATUS_ZOMBIE,
        timeout=30,
        what="the broker to stop",
    )
    third = _bundle(tmp_path, "third")
    refused = platform.manage(
        "import_task", str(third), "--challenge", "discovery", "--track", "t"
    )
    assert refused.returncode == 3, (refused.stdout, refused.stderr)
    # One line says it (the rest of stderr is the command's INFO log: no warning, no trace).
    lines = [x for x in refused.stderr.splitlines() if "broker" in x or "WARNING" in x]
    assert len(lines) == 1, refused.stderr
    assert "1 job(s) could not be sent to the broker at redis://:***@127.0.0.1:" in lines[0]
    assert "is the platform running" in lines[0] and "Traceback" not in refused.stderr
    assert " ERROR " not in refused.stderr
    assert reruns(platform, "third") == ["queued"]  # saved, waiting for the broker

    # The broker comes back (same port, password and data): the beat sends the lost message.
    password = (platform.data_dir / "redis-password").read_text().strip()
    revived: LocalRedis = start_local_redis(
        platform.data_dir / "redis", port=platform.redis_port, password=password
    )
    assert revived.port == platform.redis_port
    try:
        wait_for(
            lambda: reruns(platform, "third") == ["succeeded"],
            timeout=240,
            what=f"the saved re-run once the broker is back:\n{platform.log_tail()}",
        )
        # Sent again by the lifecycle's republish (the worker's log line, in the tree's log).
        assert "algorithm run: published again" in platform.log.read_text(errors="replace")
    finally:
        platform.stop()
        revived.stop()
