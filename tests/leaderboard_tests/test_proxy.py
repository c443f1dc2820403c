"""The boards through the deployment's balancer: a real HAProxy on loopback, configured by
``leaderboard.proxy.haproxy_config`` (``manage.py haproxy_config``), in front of a live
server with the board cache on the session's real Redis.

Anonymous reads of a board are answered by HAProxy's cache (Django sees one read per board
and grace); a reader signed in always reaches Django; and after a score lands, no read
through the proxy that starts later than the grace gets the old board: neither from
HAProxy's cache nor from the fast path's grace behind it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.signals import request_started
from django.db import connection

from challenge_platform.localredis import free_port
from leaderboard.proxy import haproxy_config

from .boards import FAST, refresh, signed_in_viewers
from .factories import scored

HAPROXY = shutil.which("haproxy")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (Debian package haproxy)"),
]
GRACE = 2
# HAProxy and Django read the clock a moment apart (the request's transit).
CLOCK_SLACK = 0.3


@pytest.fixture
def origin_reads(live_server) -> Iterator[Counter]:
    """Requests that reached Django (the live server's thread), by path."""
    seen: Counter = Counter()

    def note(environ=None, **kwargs) -> None:
        if environ is not None:
            seen[environ.get("PATH_INFO", "")] += 1

    request_started.connect(note)
    yield seen
    request_started.disconnect(note)


@pytest.fixture
def proxy(live_server, tmp_path: Path, settings) -> Iterator[str]:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = urlsplit(live_server.url)
    port = free_port(None)
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        haproxy_config(
            bind=f"127.0.0.1:{port}",
            servers=[("web", f"{server.hostname}:{server.port}")],
            per_server=8,
            health_host=server.hostname,
        )
    )
    log = (tmp_path / "haproxy.log").open("wb")
    process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # listening, and the server seen up by the health check
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError((tmp_path / "haproxy.log").read_text())
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def board(setup, settings, django_capture_on_commit_callbacks):
    settings.BOARD_CACHE_GRACE_SECONDS = GRACE
    settings.BOARD_CACHE_GRACE_CHANGES = 1  # every score is a rush: the fast path's grace too
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    return setup


def test_anonymous_boards_come_from_the_proxy_and_never_older_than_the_grace_after_a_score(
    board, proxy, origin_reads, django_capture_on_commit_callbacks
):
    challenge, track, task, teams = board
    reader = requests.Session()
    for name, path in FAST.items():
        first = reader.get(proxy + path, timeout=30)
        assert first.status_code == 200 and "0.61" in first.text, name
        assert first.headers["Cache-Control"] == f"public, s-maxage={GRACE}", name
        before = origin_reads[path]
        again = reader.get(proxy + path, timeout=30)
        assert again.status_code == 200 and again.content == first.content, name
        assert origin_reads[path] == before, f"{name}: the proxy's cache did not answer"

    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    landed = time.monotonic()

    late_reads = Counter()
    while time.monotonic() < landed + GRACE + 3:
        for name, path in FAST.items():
            started = time.monotonic()
            answer = reader.get(proxy + path, timeout=30)
            assert answer.status_code == 200, name
            if started > landed + GRACE + CLOCK_SLACK:
                assert "0.97" in answer.text, (
                    f"{name}: served the board of before the score "
                    f"{started - landed:.2f} s after it (grace {GRACE} s)"
                )
                late_reads[name] += 1
        time.sleep(0.1)
    assert all(late_reads[name] for name in FAST), late_reads


def test_a_signed_in_reader_always_reaches_the_server_through_the_proxy(
    setup, proxy, origin_reads, django_capture_on_commit_callbacks, settings
):
    settings.BOARD_CACHE_GRACE_SECONDS = GRACE
    organizer, pat, participant = signed_in_viewers(setup, django_capture_on_commit_callbacks)
    page = "/tasks/t1/leaderboard/"
    anonymous = requests.get(proxy + page, timeout=30)
    assert anonymous.status_code == 200 and "pat-the-participant" not in anonymous.text
    cookie = {"sessionid": participant.cookies["sessionid"].value}
    connection.close()  # the live server's thread writes the session on its own connection
    for _ in range(3):
        before = origin_reads[page]
        theirs = requests.get(proxy + page, cookies=cookie, timeout=30)
        assert theirs.status_code == 200 and "pat-the-participant" in theirs.text
        assert origin_reads[page] == before + 1
        assert "public" not in theirs.headers.get("Cache-Control", "")
    # The API asked for HTML (the browsable API) is not answered with a cached JSON.
    api = "/api/v1/tasks/t1/leaderboard/"
    assert requests.get(proxy + api, timeout=30).headers["Content-Type"].startswith(
        "application/json"
    )
    html = requests.get(proxy + api, headers={"Accept": "text/html"}, timeout=30)
    assert html.headers["Content-Type"].startswith("text/html")


def test_the_command_prints_a_configuration_haproxy_accepts(tmp_path: Path):
    from django.core.management import call_command

    out = tmp_path / "haproxy.cfg"
    with out.open("w") as handle:
        call_command(
            "haproxy_config",
            "--bind",
            "127.0.0.1:8080",
            "--server",
            "web1=10.0.0.21:8000",
            "--server",
            "web2=10.0.0.22:8000",
            stdout=handle,
        )
    check = subprocess.run([HAPROXY, "-c", "-f", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "cache-use boards" in out.read_text()
