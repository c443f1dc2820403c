"""The processes are defined once, in the Procfile: runplatform and docker read the same lines."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.celery import app
from leaderboard.cache.proxy import BOARD_SERVER_SLOTS
from runtime.management.commands.runplatform import Command
from runtime.procfile import BEHIND_A_BALANCER, PROCFILE, processes

REPO = Path(__file__).resolve().parents[2]


def test_the_procfile_names_the_web_server_the_workers_and_beat() -> None:
    found = processes()
    assert list(found) == ["web", "boards", "renders", "worker", "baselines", "algorithms", "beat"]
    assert found["web"].startswith("gunicorn challenge_platform.wsgi:application ")
    assert found["boards"].startswith("gunicorn challenge_platform.wsgi:application ")
    assert found["beat"].startswith("celery -A challenge_platform beat ")


def test_every_queue_a_task_is_sent_to_has_a_worker_in_the_procfile() -> None:
    app.loader.import_default_modules()
    used = {task.queue for name, task in app.tasks.items() if getattr(task, "queue", None)}
    used |= {entry["options"]["queue"] for entry in app.conf.beat_schedule.values()}
    served = set()
    for command in processes().values():
        if " worker " in command:
            served |= set(re.search(r"-Q (\S+)", command).group(1).split(","))
    assert used, "no task declares a queue"
    assert used <= served, f"queues without a worker line in {PROCFILE}: {used - served}"


def test_runplatform_gives_the_procfile_local_values(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DEV_SERVER", raising=False)
    monkeypatch.delenv("DEBUG", raising=False)
    env = Command._environment(tmp_path, "127.0.0.1:9999")
    assert env["WEB_BIND"] == "127.0.0.1:9999"
    assert env["CELERY_BEAT_SCHEDULE"] == str(tmp_path / "celerybeat-schedule")
    assert env["DEBUG"] == "0"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    monkeypatch.setenv("DEV_SERVER", "1")
    assert Command._environment(tmp_path, "127.0.0.1:9999")["DEBUG"] == "1"


@pytest.fixture
def recording_bin(tmp_path) -> Path:
    """``celery``, ``gunicorn`` and ``python`` stand-ins that print the arguments they got:
    the entrypoint's job is to pick the Procfile line and start it, which this observes
    without starting a real worker (the embedded-server test runs the real ones)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("celery", "gunicorn", "python"):
        script = folder / name
        script.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        script.chmod(0o755)
    return folder


def _entrypoint(recording_bin: Path, *args: str, **env: str) -> list[str]:
    done = subprocess.run(
        ["sh", str(REPO / "docker" / "entrypoint.sh"), *args],
        env={**os.environ, "PATH": f"{recording_bin}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("role", ["worker", "baselines", "beat"])
def test_the_docker_entrypoint_starts_the_procfile_line(recording_bin, role) -> None:
    expanded = subprocess.run(
        ["sh", "-c", f"echo {processes()[role]}"],
        capture_output=True, text=True, env={"PATH": os.environ["PATH"]},
    ).stdout.strip()  # fmt: skip
    assert _entrypoint(recording_bin, role) == [expanded]


def test_the_entrypoint_keeps_its_old_names_and_migrates_before_the_web(recording_bin) -> None:
    assert _entrypoint(recording_bin, "baseline-worker") == _entrypoint(recording_bin, "baselines")
    web = _entrypoint(recording_bin, "web", WEB_CONCURRENCY="5")
    assert web[0] == "python manage.py migrate --no-input"
    assert shlex.split(web[1])[:6] == [
        "gunicorn", "challenge_platform.wsgi:application", "--bind", "127.0.0.1:8000",
        "--workers", "5",
    ]  # fmt: skip
    # Loopback unless an operator says otherwise: the image says so for its containers.
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    assert "WEB_BIND=0.0.0.0:8000" in dockerfile and "BOARDS_BIND=0.0.0.0:8001" in dockerfile
    assert _entrypoint(recording_bin, "web", MIGRATE_ON_START="0")[0].startswith("gunicorn ")
    # Its hooks: the web's CPU priority (runtime.cpu_priority).
    assert "--config python:challenge_platform.gunicorn_config" in web[1]
    assert _entrypoint(recording_bin, "migrate") == ["python manage.py migrate --no-input"]
    assert _entrypoint(recording_bin, "echo", "any", "command") == ["any command"]


def test_the_web_server_answers_from_threads_so_slow_requests_do_not_hold_every_worker(
    recording_bin,
) -> None:
    """An upload or a slow client holds one thread, not one of the few processes: readers
    of a cached board are still answered (issue 15's deadline rush)."""
    web = shlex.split(_entrypoint(recording_bin, "web", MIGRATE_ON_START="0")[0])
    # gthread, with a request's head read without a thread (decision 0070)
    assert web[web.index("--worker-class") + 1] == "runtime.web_worker.HeadFirstWorker"
    assert web[web.index("--threads") + 1] == "8"
    web = shlex.split(_entrypoint(recording_bin, "web", MIGRATE_ON_START="0", WEB_THREADS="4")[0])
    assert web[web.index("--threads") + 1] == "4"


def test_the_board_server_listens_beside_the_web_with_threads_of_its_own(recording_bin) -> None:
    """The board server (what HAProxy sends the board reads its cache cannot answer to) is a
    gunicorn of its own, on another port than the web's, with the web's hooks and
    keep-alive; runplatform, with no balancer, does not start it."""
    boards = shlex.split(_entrypoint(recording_bin, "boards")[0])
    assert boards[boards.index("--bind") + 1] == "127.0.0.1:8001"
    assert boards[boards.index("--worker-class") + 1] == "runtime.web_worker.HeadFirstWorker"
    slots = int(boards[boards.index("--workers") + 1]) * int(boards[boards.index("--threads") + 1])
    assert slots == BOARD_SERVER_SLOTS  # what haproxy_config lets it take at a time
    assert boards[boards.index("--keep-alive") + 1] == "75"
    assert "--config python:challenge_platform.gunicorn_config" in " ".join(boards)
    moved = _entrypoint(recording_bin, "boards", BOARDS_BIND="10.0.0.21:9001", BOARDS_THREADS="4")
    assert "--bind 10.0.0.21:9001" in moved[0] and "--threads 4" in moved[0]
    assert "boards" in BEHIND_A_BALANCER  # runplatform leaves it out


NUMBER_WORDS = {"1": "one", "2": "two", "3": "three", "4": "four"}


def test_the_manual_says_how_many_runs_the_algorithms_worker_runs_as_the_procfile_does() -> None:
    """The manual's promise and the process that keeps it agree (they once said one and two)."""
    line = processes()["algorithms"]
    default = re.search(r"--concurrency \$\{ALGORITHM_WORKER_CONCURRENCY:-(\d+)\}", line).group(1)
    sandbox = (REPO / "docs/operators/the-sandbox.md").read_text(encoding="utf-8")
    said = re.findall(r"The algorithms worker runs (\w+) jobs? at a time", sandbox)
    assert said == [NUMBER_WORDS[default]], said
    configure = (REPO / "docs/operators/configure.md").read_text(encoding="utf-8")
    assert f"`ALGORITHM_WORKER_CONCURRENCY` | `{default}` |" in configure
    assert "`algorithms` runs (concurrency 1" not in sandbox + configure


def test_each_gunicorn_instance_on_a_host_has_a_control_socket_of_its_own() -> None:
    """Issue 66: gunicorn's default control socket is one per user (~/.gunicorn/gunicorn.ctl),
    so ``web`` and ``boards`` (or two installs) took each other's; each is now named by the
    addresses its instance listens on, and one given with --control-socket is kept."""
    from gunicorn.config import Config

    from challenge_platform.gunicorn_config import control_socket_for

    def for_bind(*binds: str, given: str | None = None) -> str:
        cfg = Config()
        cfg.set("bind", list(binds))
        if given:
            cfg.set("control_socket", given)
        return control_socket_for(cfg)

    web, boards = for_bind("127.0.0.1:8000"), for_bind("127.0.0.1:8001")
    assert web != boards and not web.endswith("/gunicorn.ctl")
    assert for_bind("127.0.0.1:8000") == web  # the same instance finds its own again
    assert len(for_bind("unix:" + "/very/long/folder" * 10 + "/web.sock")) < 108
    assert for_bind("127.0.0.1:8000", given="/run/web.ctl") == "/run/web.ctl"
