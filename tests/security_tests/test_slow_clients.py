"""Half-sent requests against the real web server, started as ``make run`` and the Procfile
start it (docs/decisions/0070-a-request-s-head-is-read-without-a-thread.md).

A client that sends a request line and one header and never the blank line must hold no
thread: ``/healthz`` and an API read still answer. The server here has 2 processes of 4
threads, so 24 stalled connections are three times its threads.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from runtime.procfile import processes
from tests.support.web_server import WebServer, start_web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HALF_SENT = b"GET /api/v1/challenges/ HTTP/1.1\r\nHost: localhost\r\n"
STALLED = 24


def test_make_run_and_the_image_start_the_procfile_s_web_line():
    """What the test below starts is what ``make run`` (runplatform: the Procfile's line as
    it is) and the image (docker/entrypoint.sh: the same line) start."""
    web = processes()["web"]
    assert "--worker-class runtime.web_worker.HeadFirstWorker" in web
    assert "${WEB_BIND:-127.0.0.1:8000}" in web  # loopback unless an operator says otherwise
    assert "runtime.web_worker.HeadFirstWorker" in processes()["boards"]


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server, tmp_path_factory) -> Iterator[WebServer]:
    running = start_web_server(
        redis_url=redis_server.url, log_path=tmp_path_factory.mktemp("gunicorn") / "web.log"
    )
    yield running
    running.stop()


def half_sent(url: str, count: int) -> list[socket.socket]:
    parts = urlsplit(url)
    stalled = []
    for _ in range(count):
        conn = socket.create_connection((parts.hostname, parts.port), timeout=10)
        conn.sendall(HALF_SENT)
        stalled.append(conn)
    return stalled


def still_open(conn: socket.socket) -> bool:
    conn.setblocking(False)
    try:
        return conn.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError as e:
        return e.errno not in (errno.ECONNRESET, errno.EPIPE)
    finally:
        conn.setblocking(True)


def answered_within(url: str, seconds: float, tries: int = 3) -> bool:
    """Whether one of ``tries`` reads answered 200 within ``seconds``: a thread held by a
    stalled client never frees (gunicorn's gthread held them 150 s and more), so every try
    fails there; a busy machine may slow one try, not three."""
    for _ in range(tries):
        try:
            if requests.get(url, timeout=seconds).status_code == 200:
                return True
        except requests.RequestException:
            pass
    return False


def test_24_half_sent_requests_hold_no_thread(server):
    stalled = half_sent(server.url, STALLED)
    # ... and kept-alive connections that start a second request and stall in its head.
    kept = []
    for _ in range(8):
        parts = urlsplit(server.url)
        session = socket.create_connection((parts.hostname, parts.port), timeout=30)
        session.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert b"200" in session.recv(4096).split(b"\r\n", 1)[0]
        session.sendall(HALF_SENT)
        kept.append(session)
    time.sleep(1)  # every stalled head is with the server
    try:
        assert answered_within(server.url + "/healthz", 2.0), server.log_tail()
        assert answered_within(server.url + "/api/v1/challenges/", 2.0), server.log_tail()
        assert all(still_open(c) for c in stalled + kept), "the stall ended before the reads"
        # A stalled head completed late is still answered: nothing was lost while it waited.
        stalled[0].sendall(b"\r\n")
        stalled[0].settimeout(30)
        assert stalled[0].recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for conn in stalled + kept:
            conn.close()


def test_a_head_not_whole_within_its_bound_is_closed(django_db_setup, redis_server, tmp_path):
    running = start_web_server(
        redis_url=redis_server.url, log_path=tmp_path / "web.log", env={"WEB_HEAD_SECONDS": "2"}
    )
    try:
        stalled = half_sent(running.url, 4)
        for conn in stalled:
            conn.settimeout(60)  # closed at 2 s (the poller looks every second): far within
            assert conn.recv(4096) == b"", "a stalled head was kept past WEB_HEAD_SECONDS"
            conn.close()
        assert answered_within(running.url + "/healthz", 10.0)
    finally:
        running.stop()


def test_a_stop_under_stalled_heads_and_held_waits_needs_no_sigkill(
    django_db_setup, redis_server, tmp_path
):
    """Ctrl-C under ``make run``: honcho sends SIGTERM and SIGKILLs what is left after
    ``KILL_WAIT`` (5 s). gunicorn, with runplatform's graceful stop, is gone before: held
    status waits answer at once and connections without a whole head are closed."""
    from django.utils import timezone
    from honcho.manager import KILL_WAIT

    from runtime.management.commands.runplatform import WEB_GRACEFUL_SECONDS
    from scoring.models import Submission, SubmissionStatus
    from tests.scoring_tests.factories import imported_task, make_participant
    from tests.support.web_server import api_token

    task = imported_task(tmp_path, rows=40)
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    submission = Submission.objects.create(
        task=task, team=alice.team, uploaded_by=alice.user, file="x.csv",
        status=SubmissionStatus.QUEUED, status_changed_at=timezone.now(),
    )  # fmt: skip
    running = start_web_server(
        redis_url=redis_server.url,
        log_path=tmp_path / "web.log",
        env={"WEB_GRACEFUL_TIMEOUT": str(WEB_GRACEFUL_SECONDS)},
    )
    try:
        token = api_token(running, "alice", "pw-for-tests")
        url = f"{running.url}/api/v1/submissions/{submission.pk}/"
        parts = urlsplit(running.url)
        held = []
        for _ in range(2):  # two held waits (the process's places for one person: one each)
            conn = socket.create_connection((parts.hostname, parts.port), timeout=60)
            conn.sendall(
                f"GET {urlsplit(url).path}?wait=60 HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: Token {token}\r\nConnection: close\r\n\r\n".encode()
            )
            held.append(conn)
        stalled = half_sent(running.url, 24)
        time.sleep(1.5)  # the waits are held, the heads with the server
        os.killpg(running.process.pid, signal.SIGTERM)  # what honcho does on Ctrl-C
        try:
            running.process.wait(timeout=KILL_WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gunicorn still ran {KILL_WAIT} s after SIGTERM:\n{running.log_tail()}")
        for conn in held:  # a held wait was answered (not cut) by the stop
            conn.settimeout(10)
            assert conn.recv(4096).startswith(b"HTTP/1.1 200"), running.log_tail()
        for conn in held + stalled:
            conn.close()
    finally:
        running.stop()


def test_an_answer_before_the_body_is_read_closes_the_connection(server):
    """A 1 MB POST answered without its body read (here the CSRF check's 403; in the product
    an upload refused on its declared size, the team's budget or rate) says ``Connection:
    close``: the server does not read the rest, so it closes the connection after the answer,
    and a client must not send its next request on it. A kept connection whose body was read
    stays open, and so does one whose small unread body the server drains."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(
            b"POST /healthz HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
            + b"x" * 100_000
        )
        head = conn.recv(65536).split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 403"), head
    assert b"connection: close" in head, head

    session = requests.Session()

    def unread(size: int) -> requests.Response:
        """A POST of ``size`` bytes the server answers (403) without reading, then a read on
        the same session, which must be answered."""
        answer = session.post(
            f"{server.url}/healthz", data=b"x" * size,
            headers={"Content-Type": "application/octet-stream"}, timeout=30,
        )  # fmt: skip
        assert answer.status_code == 403
        assert session.get(f"{server.url}/healthz", timeout=30).status_code == 200
        return answer

    assert unread(1_000_000).headers["Connection"] == "close"
    kept = session.get(f"{server.url}/healthz", timeout=30)
    assert kept.headers["Connection"] == "keep-alive"
    # A small body left unread is drained by the server, which keeps the connection.
    assert unread(1000).headers["Connection"] == "keep-alive"
