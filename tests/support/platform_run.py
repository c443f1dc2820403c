"""The real ``make run`` process tree (``manage.py runplatform``) for a test: started with its
own data folder, ports and Redis, waited for until the site answers, stopped with Ctrl-C.

``Platform.env`` is a second shell's environment: the same data folder and settings, no
``REDIS_URL`` (a command run with it finds the platform's broker as an organizer's would).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from runtime.localredis import free_port
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
# Variables of the test process that would point the platform at the tests' own services.
NOT_INHERITED = ("REDIS_URL", "DATABASE_URL", "DEBUG", "DEV_SERVER", "STORAGE_BACKEND")


@dataclass
class Platform:
    url: str
    port: int
    redis_port: int
    data_dir: Path
    process: subprocess.Popen
    log: Path
    env: dict[str, str]

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """``manage.py *args`` from a second shell (the platform's data folder)."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self) -> None:
        """Ctrl-C, as a person stops it (every process killed if it does not stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def answers(url: str) -> bool:
    try:
        return requests.get(url + "/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def running_platform(data_dir: Path, **settings: str) -> Iterator[Platform]:
    """``runplatform --no-demo`` with ``data_dir`` and ``settings`` (environment variables),
    up (the site answers) until the block ends."""
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(
        DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="challenge_platform.settings.local"
    )
    env.update(settings)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-runplatform.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runplatform", "--no-demo",
             "--port", str(port), "--redis-port", str(redis_port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    platform = Platform(
        url=f"http://127.0.0.1:{port}",
        port=port,
        redis_port=redis_port,
        data_dir=data_dir,
        process=process,
        log=log,
        env=env,
    )
    try:
        wait_for(
            lambda: answers(platform.url) or process.poll() is not None,
            timeout=240,
            what="runplatform to come up",
        )
        if process.poll() is not None:
            pytest.fail(f"runplatform did not come up:\n{platform.log_tail()}")
        yield platform
    finally:
        platform.stop()
