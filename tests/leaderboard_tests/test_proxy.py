"""The boards through the deployment's balancer: a real HAProxy on loopback, configured by
``leaderboard.cache.proxy.haproxy_config`` (``manage.py haproxy_config``), in front of a live
server with the board cache on the session's real Redis.

Anonymous reads of a board are answered by HAProxy's cache (Django sees one read per board
and grace); a reader signed in always reaches Django; and after a score lands, no read
through the proxy that starts later than the grace gets the old board: neither from
HAProxy's cache nor from the fast path's grace behind it.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.signals import request_started
from django.db import connection

from leaderboard.cache.proxy import haproxy_config
from runtime.localredis import free_port
from tests.support.waiting import wait_for

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
    with running_proxy(live_server, tmp_path, per_server=8) as base:
        yield base


@contextmanager
def running_proxy(
    live_server,
    tmp_path: Path,
    *,
    per_server: int,
    stats: Path | None = None,
    board_server: str | None = None,
    per_board_server: int = 16,
    collapse_wait_ms: int = 1000,
    lua_maxmem_mb: int | None = None,
):
    """HAProxy as ``haproxy_config`` writes it in front of the live server (``stats``: with
    a stats socket there, to read its queue; ``board_server``: ``host:port`` of a board
    server, the Procfile's ``boards``)."""
    server = urlsplit(live_server.url)
    port = free_port(None)
    config = tmp_path / "haproxy.cfg"
    text = haproxy_config(
        bind=f"127.0.0.1:{port}",
        servers=[("web", f"{server.hostname}:{server.port}")],
        per_server=per_server,
        health_host=server.hostname,
        board_servers=[("boards", board_server)] if board_server else (),
        per_board_server=per_board_server,
        collapse_wait_ms=collapse_wait_ms,
    )
    if stats is not None:
        text = text.replace("global\n", f"global\n    stats socket {stats} mode 600\n", 1)
    if lua_maxmem_mb is not None:  # the configuration's own bound, lowered
        text, replaced = re.subn(r"tune\.lua\.maxmem \d+", f"tune.lua.maxmem {lua_maxmem_mb}", text)
        assert replaced == 1, text
    config.write_text(text)
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


def backend_stat(stats: Path, backend: str = "web") -> dict[str, str]:
    """A backend's line of HAProxy's statistics (its stats socket): ``qcur`` requests
    waiting in its queue, ``status`` UP or DOWN..."""
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(stats))
        client.sendall(b"show stat\n")
        out = b""
        while chunk := client.recv(65536):
            out += chunk
    header, *rows = out.decode().splitlines()
    columns = header.lstrip("# ").split(",")
    for row in rows:
        values = dict(zip(columns, row.split(","), strict=False))
        if values.get("pxname") == backend and values.get("svname") == "BACKEND":
            return values
    raise AssertionError(out.decode())


def _get_in_background(url: str, **kwargs) -> threading.Thread:
    """A GET of ``url`` on a thread of its own, started (the test joins it)."""
    thread = threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 60, **kwargs})
    thread.start()
    return thread


def queued(stats: Path) -> int:
    """Requests waiting in HAProxy's queue for the web servers."""
    return int(backend_stat(stats)["qcur"] or 0)


def test_a_board_read_waiting_for_a_server_goes_ahead_of_other_requests(
    board, live_server, tmp_path: Path, settings
):
    """A board read the cache cannot answer waits in HAProxy's queue ahead of requests that
    were queued shortly before it (uploads, signed-in pages): a reader does not wait behind a
    rush of uploads for a server."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    hold, held = threading.Event(), threading.Event()
    reached: list[str] = []

    def note(environ=None, **kwargs) -> None:
        path = (environ or {}).get("PATH_INFO", "")
        if path == "/held/":  # the server's one slot stays taken until the test says
            held.set()
            hold.wait(30)
        elif path != "/healthz":
            reached.append(path)

    stats = tmp_path / "stats.sock"
    request_started.connect(note)
    threads: list[threading.Thread] = []
    try:
        with running_proxy(live_server, tmp_path, per_server=1, stats=stats) as base:

            def get(path: str, **kwargs) -> None:
                threads.append(_get_in_background(base + path, **kwargs))

            get("/held/")
            assert held.wait(30)
            other, board_path = "/api/v1/challenges/", FAST["task page"]
            for path, waiting in ((other, 1), (board_path, 2)):
                get(path)
                wait_for(
                    lambda w=waiting: queued(stats) >= w, timeout=30, what=f"{path} queued"
                )
            hold.set()
            for thread in threads:
                thread.join(60)
    finally:
        hold.set()
        request_started.disconnect(note)
    assert reached[:2] == [board_path, other], reached


def test_a_board_read_the_cache_cannot_answer_never_waits_for_a_web_servers_thread(
    board, live_server, tmp_path: Path, settings, django_capture_on_commit_callbacks
):
    """With a board server (the Procfile's ``boards``), an anonymous board read that HAProxy's
    cache cannot answer is answered while every web server's slot is taken and another
    request waits for one: no rush of uploads holds the thread a reader needs. A board
    changed since is read at once too, and a signed-in reader still goes to the web."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    challenge, track, task, teams = board
    hold, held = threading.Event(), threading.Event()
    reached: list[str] = []

    def note(environ=None, **kwargs) -> None:
        path = (environ or {}).get("PATH_INFO", "")
        if path == "/held/":  # the web server's one slot stays taken until the test says
            held.set()
            hold.wait(30)
        elif path != "/healthz":
            reached.append(path)

    stats = tmp_path / "stats.sock"
    server = urlsplit(live_server.url)
    request_started.connect(note)
    threads: list[threading.Thread] = []
    try:
        # The live server (threaded) stands for both gunicorns: HAProxy's slots decide.
        with running_proxy(
            live_server,
            tmp_path,
            per_server=1,
            stats=stats,
            board_server=f"{server.hostname}:{server.port}",
        ) as base:

            def get(path: str, **kwargs) -> None:
                threads.append(_get_in_background(base + path, **kwargs))

            get("/held/")
            assert held.wait(30)
            other = "/api/v1/challenges/"
            get(other)
            wait_for(lambda: queued(stats) >= 1, timeout=30, what=f"{other} queued")
            for name, path in FAST.items():
                answer = requests.get(base + path, timeout=60)
                assert answer.status_code == 200 and "0.61" in answer.text, name
            scored(task, teams["bo"], 0.97)
            refresh(task, django_capture_on_commit_callbacks)
            page = FAST["task page"]
            wait_for(
                lambda: "0.97" in requests.get(base + page, timeout=60).text,
                timeout=30,
                what="the new board",
                interval=0.2,
            )
            # Still no web thread was free: every read above came from the board server.
            assert not hold.is_set() and queued(stats) == 1
            assert other not in reached and set(reached) == set(FAST.values()), reached
            get(page, headers={"Authorization": "Token nobody"})
            wait_for(
                lambda: queued(stats) >= 2,
                timeout=30,
                what="a signed-in read waiting for the web",
            )
            hold.set()
            for thread in threads:
                thread.join(60)
    finally:
        hold.set()
        request_started.disconnect(note)
    assert reached[-2:] == [other, page] or reached[-2:] == [page, other], reached


def test_while_a_round_of_the_board_servers_slots_waits_a_board_read_spills_over_to_the_web(
    board, live_server, tmp_path: Path, settings
):
    """While as many board reads wait for the board servers as they have slots (a render
    slowed down by a loaded host holds one), the next one goes to the web servers instead of
    waiting behind them."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    hold, held = threading.Event(), threading.Event()
    reached: list[str] = []
    slow, waiting, spilled = FAST["task page"], FAST["track page"], FAST["task api"]

    def note(environ=None, **kwargs) -> None:
        path = (environ or {}).get("PATH_INFO", "")
        if path == slow and not held.is_set():  # the board server's one slot stays taken
            held.set()
            hold.wait(30)
        elif path != "/healthz":
            reached.append(path)

    stats = tmp_path / "stats.sock"
    server = urlsplit(live_server.url)
    request_started.connect(note)
    threads: list[threading.Thread] = []
    try:
        with running_proxy(
            live_server,
            tmp_path,
            per_server=4,
            stats=stats,
            board_server=f"{server.hostname}:{server.port}",
            per_board_server=1,
        ) as base:

            def get(path: str, **kwargs) -> None:
                threads.append(_get_in_background(base + path, **kwargs))

            get(slow)
            assert held.wait(30)
            get(waiting)
            wait_for(
                lambda: int(backend_stat(stats, "boards")["qcur"] or 0) >= 1,
                timeout=30,
                what=f"{waiting} queued",
            )
            answer = requests.get(base + spilled, timeout=60)
            assert answer.status_code == 200 and "0.61" in answer.text
            assert reached == [spilled] and not hold.is_set()  # the other one still waits
            hold.set()
            for thread in threads:
                thread.join(60)
    finally:
        hold.set()
        request_started.disconnect(note)
    assert reached == [spilled, waiting], reached


def _read_at_once(url: str, readers: int) -> list[requests.Response]:
    """``readers`` anonymous GETs of ``url`` started together, each on a thread of its own."""
    answers: list[requests.Response] = []
    start = threading.Barrier(readers)

    def read() -> None:
        start.wait(30)
        answers.append(requests.get(url, timeout=60))

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return answers


@contextmanager
def slow_reads(path: str, seconds: float) -> Iterator[Counter]:
    """Each request for ``path`` that reaches Django, counted (by path), and held ``seconds``
    first: a loaded server, so that readers' misses overlap."""
    reads: Counter = Counter()

    def slow(environ=None, **kwargs) -> None:
        if (environ or {}).get("PATH_INFO") == path:
            reads[path] += 1
            time.sleep(seconds)

    request_started.connect(slow)
    try:
        yield reads
    finally:
        request_started.disconnect(slow)


@pytest.mark.parametrize("with_board_server", [True, False], ids=["board server", "web only"])
def test_readers_of_a_board_the_cache_lacks_wait_for_one_read_of_it(
    board, live_server, tmp_path: Path, settings, with_board_server: bool
):
    """Many anonymous readers miss the same board at once (its copy expired): one read goes
    to the servers and the others wait in HAProxy for its answer, then get it from the
    cache; without the wait every one of them reached the servers (collapse.lua)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    page = FAST["task page"]
    server = urlsplit(live_server.url)
    with (
        slow_reads(page, 0.5) as reads,
        running_proxy(
            live_server,
            tmp_path,
            per_server=16,
            board_server=f"{server.hostname}:{server.port}" if with_board_server else None,
            collapse_wait_ms=30_000,  # the leader's answer, however loaded the host
        ) as base,
    ):
        answers = _read_at_once(base + page, 12)
    assert [a.status_code for a in answers] == [200] * 12
    assert len({a.content for a in answers}) == 1 and "0.61" in answers[0].text
    assert reads[page] == 1, reads


def test_readers_of_a_board_that_may_not_be_kept_are_each_answered_fresh(
    board, live_server, tmp_path: Path, settings
):
    """A board HAProxy may not store (no grace: every reader gets it fresh) is read by each
    reader from the server, at once or after one wait: none gets another's copy."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.BOARD_CACHE_GRACE_SECONDS = 0
    page = FAST["task page"]
    with (
        slow_reads(page, 0.2) as reads,
        running_proxy(live_server, tmp_path, per_server=16) as base,
    ):
        for _ in range(2):  # the first answer marks the board as not kept
            answers = _read_at_once(base + page, 6)
            assert [a.status_code for a in answers] == [200] * 6
            assert all("no-cache" in a.headers["Cache-Control"] for a in answers)
    assert reads[page] == 12, reads


def test_while_no_board_server_is_up_the_web_servers_answer_the_board_reads(
    board, live_server, tmp_path: Path, settings
):
    """A board server that is down (stopped, or not started yet) is routed around: once
    HAProxy's health check sees it down, the web servers answer the board reads."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    stats = tmp_path / "stats.sock"
    closed = free_port(None)  # nothing listens there
    with running_proxy(
        live_server, tmp_path, per_server=4, stats=stats, board_server=f"127.0.0.1:{closed}"
    ) as base:
        wait_for(
            lambda: backend_stat(stats, "boards")["status"] == "DOWN",
            timeout=60,
            what="HAProxy to mark the board server down",
            interval=0.2,
        )
        for name, path in FAST.items():
            answer = requests.get(base + path, timeout=30)
            assert answer.status_code == 200 and "0.61" in answer.text, name


@pytest.mark.parametrize(
    "options",
    [
        (),
        ("--boards-server", "boards1=10.0.0.21:8001"),
        ("--no-cache",),
        ("--collapse-wait-ms", "250"),
    ],
    ids=["web servers", "board servers", "no cache", "collapse wait"],
)
def test_the_command_prints_a_configuration_haproxy_accepts(tmp_path: Path, options):
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
            *options,
            stdout=handle,
        )
    check = subprocess.run([HAPROXY, "-c", "-f", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = out.read_text()
    cached = "--no-cache" not in options
    assert ("cache-use boards" in text) == cached
    assert ("lua.board_read" in text) == ("lua-load" in text) == cached
    assert ("tune.lua.maxmem" in text) == cached  # a bound on the script's memory
    if cached:
        wait = options[1] if "--collapse-wait-ms" in options else "1000"
        assert f"setenv BOARD_COLLAPSE_WAIT_MS {wait}\n" in text


@pytest.mark.parametrize("wait", ["-1", "60001"])
def test_the_command_refuses_a_collapse_wait_out_of_range(wait: str):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--collapse-wait-ms must be between 0 and 60000"):
        call_command(
            "haproxy_config", "--bind", "127.0.0.1:8080", "--server", "web1=10.0.0.21:8000",
            "--collapse-wait-ms", wait,
        )  # fmt: skip


# --- hostile readers of collapse.lua -----------------------------------------------------------


@pytest.mark.parametrize("leader", ["waits", "hangs up"])
def test_a_leader_whose_answer_never_comes_holds_the_other_readers_no_longer_than_the_wait(
    board, live_server, tmp_path: Path, settings, leader: str
):
    """The first reader of an expired board is held at the server (a stuck render), or hangs
    up once its read went out: the board's other readers wait for it at most the collapse
    wait, then read the board themselves, while the leader's read is still held."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    page = FAST["task page"]
    hold, held = threading.Event(), threading.Event()
    reads: Counter = Counter()

    def note(environ=None, **kwargs) -> None:
        if (environ or {}).get("PATH_INFO") != page:
            return
        reads[page] += 1
        if not held.is_set():  # the leader's read: held until the test ends
            held.set()
            hold.wait(60)

    request_started.connect(note)
    threads: list[threading.Thread] = []
    try:
        with running_proxy(live_server, tmp_path, per_server=16, collapse_wait_ms=1000) as base:
            address = urlsplit(base)
            if leader == "waits":
                threads.append(_get_in_background(base + page))
                assert held.wait(30)
            else:
                with socket.create_connection((address.hostname, address.port), 10) as hangs:
                    hangs.sendall(f"GET {page} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    assert held.wait(30)
            answers = _read_at_once(base + page, 4)
            still_held = not hold.is_set()
            hold.set()  # the leader's read is answered before HAProxy stops
            for thread in threads:
                thread.join(60)
    finally:
        hold.set()
        request_started.disconnect(note)
    assert still_held
    assert [a.status_code for a in answers] == [200] * 4
    assert all("0.61" in a.text for a in answers)
    assert reads[page] >= 2, reads  # they read it themselves: the leader's never came


def test_a_flood_of_long_distinct_board_addresses_leaves_the_collapse_working(
    board, live_server, tmp_path: Path, settings
):
    """A hostile reader asks for hundreds of board addresses no one else reads, each long
    (random slugs: answers HAProxy may not keep, each remembered by collapse.lua), in a
    HAProxy whose Lua may use 1 MB: the script's tables stay within their bound, and
    afterwards twelve readers missing the real board at once still reach the server once."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    page = FAST["task page"]
    with (
        slow_reads(page, 0.5) as reads,
        running_proxy(
            live_server, tmp_path, per_server=16, collapse_wait_ms=30_000, lua_maxmem_mb=1
        ) as base,
    ):
        reader = requests.Session()
        filler = "x" * 4000
        for n in range(600):
            stray = page.replace("/t1/", f"/{filler}{n}/")
            assert reader.get(base + stray, timeout=30).status_code == 404
        answers = _read_at_once(base + page, 12)
        log = (tmp_path / "haproxy.log").read_text()
    assert "not enough memory" not in log.lower(), log[-2000:]
    assert [a.status_code for a in answers] == [200] * 12
    assert reads[page] == 1, reads
