"""The site's real web server for hostile tests: gunicorn, started from the Procfile's ``web``
line (the same flags as production), against the test database.

The test process writes the rows (a ``transactional_db`` test: committed, so the server
sees them) and talks to the server over real HTTP on 127.0.0.1. The server uses the
session's real Redis for the broker and, unlike the in-process tests' per-process cache,
for its cache too (a database of its own, emptied by :meth:`WebServer.clear_cache`): the
counters every web process shares (upload rate, login throttle) live there as in
production. Settings come from ``tests.support.web_settings`` plus the environment given.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import requests
from django.conf import settings

from runtime.localredis import free_port
from runtime.procfile import processes
from tests.support.celery_worker import REPO, database_url_for_workers


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen
    log: Path
    cache_url: str

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def clear_cache(self) -> None:
        """Empty the server's cache (rate counters, login throttle) between tests."""
        redis.Redis.from_url(self.cache_url).flushdb()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_web_server(
    *,
    redis_url: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    workers: int = 2,
    data_dir: Path | None = None,
) -> WebServer:
    """gunicorn with ``workers`` processes (threads as the Procfile says), ready to answer.

    ``data_dir``: a data folder of the server's own (what it stores, measured alone); by
    default the test process's, so both see the same files."""
    port = free_port()
    cache_url = redis_url.rsplit("/", 1)[0] + "/1"
    child_env = dict(os.environ)
    child_env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="tests.support.web_settings",
        DATABASE_URL=database_url_for_workers(),
        DATA_DIR=str(data_dir or settings.DATA_DIR),
        REDIS_URL=redis_url,
        WEB_TEST_CACHE_URL=cache_url,
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(workers),
        WEB_THREADS="4",
        PYTHONPATH=str(REPO),
        **(env or {}),
    )
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {processes()['web']}"],
            cwd=REPO,
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )
    server = WebServer(
        url=f"http://127.0.0.1:{port}", process=process, log=log_path, cache_url=cache_url
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"gunicorn did not come up:\n{server.log_tail()}")
        time.sleep(0.3)


def csrf_token(session: requests.Session, url: str) -> str:
    """The CSRF token a form page at ``url`` sets (its cookie), as a browser would get it."""
    session.get(url, timeout=30)
    return session.cookies.get("csrftoken", "")


def web_login(server: WebServer, username: str, password: str) -> requests.Session:
    """A session logged in through the site's login form."""
    session = requests.Session()
    token = csrf_token(session, server.url + "/accounts/login/")
    answer = session.post(
        server.url + "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": server.url + "/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise AssertionError(f"login as {username} refused: {answer.status_code}")
    return session


def api_token(server: WebServer, username: str, password: str) -> str:
    answer = requests.post(
        server.url + "/api/v1/auth/token/",
        data={"username": username, "password": password},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["token"]
