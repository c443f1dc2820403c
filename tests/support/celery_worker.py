"""Real Celery worker processes for the tests (docs/architecture.md, House style: tasks
through a real worker and Redis)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
from django.db import connection

from jobs.worker import STACKS_SIGNAL
from runtime.worker_command import celery_worker_command

REPO = Path(__file__).resolve().parents[2]


def database_url_for_workers() -> str:
    """The test database as a URL, so a worker process writes where the test reads."""
    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    password = s.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{s['NAME']}"


def manage_env() -> dict[str, str]:
    """The environment of a ``manage.py`` child process working on the test database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_workers(),
        DJANGO_SETTINGS_MODULE="challenge_platform.settings.test",
    )
    return env


def run_manage(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """``manage.py *args`` run as an organizer would, in a subprocess, on the test database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=manage_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class WorkerProcess:
    """One ``celery worker`` child process on both queues, stoppable and killable."""

    def __init__(
        self,
        *,
        redis_url: str,
        log_path: Path,
        queues: str = "scoring,baselines",
        concurrency: int = 2,
        name: str = "test",
        env: dict[str, str] | None = None,
        settings_module: str = "tests.support.worker_settings",
        nodename: str | None = None,
    ) -> None:
        self.extra_env = env or {}
        self.settings_module = settings_module
        self.redis_url = redis_url
        self.log_path = log_path
        self.queues = queues
        self.concurrency = concurrency
        self.name = name
        # Celery's node name; unique per start unless given (a restart keeps its name).
        self.nodename = nodename or f"{name}-{time.monotonic_ns()}@{socket.gethostname()}"
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        env = dict(os.environ)
        env.update(
            REDIS_URL=self.redis_url,
            DATABASE_URL=database_url_for_workers(),
            DJANGO_SETTINGS_MODULE=self.settings_module,
            PYTHONUNBUFFERED="1",
            **self.extra_env,
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.process = subprocess.Popen(
            celery_worker_command(
                self.queues, concurrency=self.concurrency, hostname=self.nodename
            ),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        from jobs.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited; log:\n{self.log_tail()}")
            # This worker's answer (another one already running would answer too).
            replies = app.control.ping(destination=[self.nodename], timeout=0.5) or []
            if replies:
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready in {timeout}s; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def dump_stacks(self, settle: float = 1.0) -> None:
        """Ask the worker's main process and its pool processes (not what they started: a
        sandbox, a launcher) to write every thread's stack to the log (jobs.worker), one at a
        time: each is given up to ``settle`` seconds to write before the next is asked (they
        share the log, and two dumps written at once interleave line by line)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            main = psutil.Process(self.process.pid)
            pythons = [main] + [p for p in main.children() if "celery" in " ".join(p.cmdline())]
        except psutil.Error:
            return
        for process in pythons:
            before = self._log_size()
            try:
                process.send_signal(STACKS_SIGNAL)
            except psutil.Error:  # it ended meanwhile
                continue
            self._wait_log_quiet(after=before, settle=settle)

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _wait_log_quiet(self, *, after: int, settle: float) -> None:
        """Until the log grew past ``after`` bytes and then stayed the same for 0.1 s, or
        ``settle`` seconds passed."""
        deadline = time.monotonic() + settle
        size, still_since = after, None
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = self._log_size()
            if now != size:
                size, still_since = now, time.monotonic()
            elif still_since is not None and time.monotonic() - still_since >= 0.1:
                return

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): a crash, not a shutdown."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 20) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
