"""`make run` end to end: ``manage.py runplatform`` starts the Procfile's processes.

One real run in a subprocess, with its own DATA_DIR and its own Redis: gunicorn serves the
site with DEBUG off and static files through WhiteNoise; a 404 lists no URL pattern; a
path with ``..`` is no server error; a chunked upload arrives whole and is scored by the
Procfile's worker; pages and answers that show a credential are not cacheable; Ctrl-C
stops every process and the command exits 0.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testkit.bundles import CLASSES, write_classification_bundle
from tests.support.platform_run import Platform, running_platform
from tests.support.processes import descendants, wait_all_gone
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker]

REPO = Path(__file__).resolve().parents[2]




@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Iterator[Platform]:
    # Its imports reach its broker (a command finds make run's Redis): no AutoGluon fit on
    # arrival for tasks a test imports only to upload to (tests/baselines_tests/test_arrival.py).
    data_dir = tmp_path_factory.mktemp("embedded") / "var"
    with running_platform(data_dir, BENCHMARK_ON_ARRIVAL="0") as running:
        yield running


def test_the_platform_is_announced_up_after_the_web_server_listens(platform) -> None:
    """The announcement follows gunicorn's "Listening at" (it waits for an HTTP answer), where
    it used to come before the web server had even started."""
    log = wait_for(
        lambda: (text := platform.log.read_text(errors="replace")) and "is up at" in text and text,
        timeout=60,
        what="the announcement",
    )
    listening = log.find("Listening at: ")
    announced = log.find(f"The platform is up at http://127.0.0.1:{platform.port}/")
    assert 0 <= listening < announced, platform.log_tail()
    assert log.count("The platform is up") == 1


def test_the_web_process_is_gunicorn_with_debug_off(platform) -> None:
    home = requests.get(platform.url + "/", timeout=10)
    assert home.headers["Server"] == "gunicorn"  # runserver says WSGIServer/0.2 CPython/...
    missing = requests.get(platform.url + "/no-such-page/", timeout=10)
    assert missing.status_code == 404
    for leak in ("URLconf", "api/v1/", "admin/", "DEBUG = True"):
        assert leak not in missing.text


def _processes(*words: str) -> list[int]:
    """The pids whose command line holds every one of ``words``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(word in command for word in words):
            found.append(int(entry.name))
    return found


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_web_runs_below_the_scoring_workers_cpu_priority(platform) -> None:
    """WEB_CPU_NICE (5): gunicorn's master and workers, and their session's scheduling group
    (autogroup), below the scoring worker, so that readers cannot starve scoring."""
    web = _processes("gunicorn", f"127.0.0.1:{platform.port}")
    scoring = _processes("celery", "scoring@")
    assert len(web) >= 2 and scoring, (web, scoring)  # a master and its workers
    assert {_nice(pid) for pid in web} == {5}
    assert {_nice(pid) for pid in scoring} == {0}
    if Path(f"/proc/{web[0]}/autogroup").exists():
        assert Path(f"/proc/{web[0]}/autogroup").read_text().split()[-1] == "5"
        assert Path(f"/proc/{scoring[0]}/autogroup").read_text().split()[-1] == "0"


def test_static_files_come_from_whitenoise(platform) -> None:
    css = requests.get(platform.url + "/static/challenge_platform/site.css", timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "max-age" in css.headers.get("Cache-Control", "")  # WhiteNoise's header
    icon = requests.get(platform.url + "/favicon.ico", timeout=10)  # follows the redirect
    assert icon.status_code == 200 and icon.url.startswith(platform.url + "/static/")
    assert icon.headers["Content-Type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.parametrize(
    "path", ["/static/../x", "/static/../../etc/passwd", "/static/%2e%2e/x", "/static/..%2fx"]
)
def test_dot_dot_paths_are_no_server_error(platform, path) -> None:
    with socket.create_connection(("127.0.0.1", platform.port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while data := sock.recv(65536):
            answer += data
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 404), answer[:300]
    assert b"root:" not in answer


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _import(platform, bundle: Path) -> None:
    """``bundle`` imported into the platform's challenge ``emb`` as a user does it."""
    imported = subprocess.run(
        [sys.executable, "manage.py", "import_task", str(bundle), "--challenge", "emb",
         "--track", "kway"],
        cwd=REPO, env=platform.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr


def test_a_chunked_upload_arrives_and_is_scored(platform, tmp_path) -> None:
    bundle = write_classification_bundle(tmp_path / "b", task={"slug": "chunky"})
    _import(platform, bundle)
    login = requests.post(
        platform.url + "/api/v1/auth/token/",
        data=_chunks(b'{"username": "alice", "password": "alice-demo-pass"}', 7),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    assert "no-store" in login.headers["Cache-Control"]
    auth = {"Authorization": f"Token {login.json()['token']}"}
    team = requests.post(
        platform.url + "/api/v1/challenges/emb/teams/", json={"name": "Chunks"}, headers=auth,
        timeout=30,
    )  # fmt: skip
    assert team.status_code == 201, team.text

    rows = "".join(f"t{i:04d},{CLASSES[i % 3]}\n" for i in range(30))
    boundary = "chunkedboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nid,label\n{rows}\r\n--{boundary}--\r\n"
    ).encode()
    sent = requests.post(
        platform.url + "/api/v1/tasks/chunky/submissions/",
        data=_chunks(body, 64),  # requests sends a generator with Transfer-Encoding: chunked
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    assert sent.status_code == 201, sent.text
    submission = sent.json()

    def scored():
        got = requests.get(
            platform.url + f"/api/v1/submissions/{submission['id']}/", headers=auth, timeout=10
        ).json()
        return got if got["status"] in ("scored", "failed") else None

    done = wait_for(scored, timeout=120, what="the Procfile's worker to score it", interval=0.5)
    assert done["status"] == "scored", done["error"]
    assert done["scores"]["public"]["accuracy"] == 1.0


def test_a_task_file_downloads_whole_and_resumes_through_gunicorn(platform, tmp_path) -> None:
    # gunicorn sends a local task file itself (sendfile of the asked bytes from the file's
    # position): the bytes of every answer are the stored ones.
    bundle = write_classification_bundle(tmp_path / "b", task={"slug": "ranges"}, rows=3000)
    _import(platform, bundle)
    stored = (
        Path(platform.env["DATA_DIR"]) / "media" / "tasks" / "ranges" / "train.csv"
    ).read_bytes()
    login = requests.post(
        platform.url + "/api/v1/auth/token/",
        json={"username": "alice", "password": "alice-demo-pass"},
        timeout=30,
    )
    auth = {"Authorization": f"Token {login.json()['token']}"}
    url = platform.url + "/api/v1/tasks/ranges/files/train.csv"

    whole = requests.get(url, headers=auth, timeout=60)
    assert (whole.status_code, whole.content) == (200, stored)
    size, etag = len(stored), whole.headers["ETag"]
    for asked, first, last in (
        (f"bytes={size // 2}-", size // 2, size - 1),
        ("bytes=100-4195", 100, 4195),
        ("bytes=-77", size - 77, size - 1),
    ):
        part = requests.get(url, headers={**auth, "Range": asked, "If-Range": etag}, timeout=60)
        assert part.status_code == 206, asked
        assert part.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert part.content == stored[first : last + 1], asked
    again = requests.get(
        url, headers={**auth, "Range": "bytes=9-", "If-Range": '"old"'}, timeout=60
    )
    assert (again.status_code, again.content) == (200, stored)
    past = requests.get(url, headers={**auth, "Range": f"bytes={size}-"}, timeout=60)
    assert (past.status_code, past.headers["Content-Range"]) == (416, f"bytes */{size}")


def test_the_token_page_is_not_cacheable(platform) -> None:
    session = requests.Session()
    page = session.get(platform.url + "/accounts/login/", timeout=10)
    assert page.status_code == 200
    logged_in = session.post(
        platform.url + "/accounts/login/",
        data={
            "username": "bob",
            "password": "bob-demo-pass",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": platform.url + "/accounts/login/"},
        timeout=10,
    )
    assert logged_in.status_code == 200 and "sessionid" in session.cookies
    token_page = session.get(platform.url + "/account/token/", timeout=10)
    assert token_page.status_code == 200
    assert "no-store" in token_page.headers["Cache-Control"]


def test_the_data_folder_is_its_owners_alone(platform) -> None:
    """Issue 25: DATA_DIR's database, private files, media, Redis data, mail and secrets are
    0700/0600, another local account can read none of them, and the local Redis wants its
    password (so nobody else on the machine reads the cache or queues a task through it)."""
    import re

    import redis

    data_dir = Path(platform.env["DATA_DIR"])
    assert (data_dir / "db.sqlite3").exists() and (data_dir / "redis").is_dir()
    open_to_others = []
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.name == "runplatform.log":  # this test's own log file
            continue
        try:
            info = path.lstat()
        except FileNotFoundError:  # SQLite's -shm/-wal come and go
            continue
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            open_to_others.append(f"{oct(stat.S_IMODE(info.st_mode))} {path}")
    assert open_to_others == []
    key = (data_dir / "secret_key").read_text().strip()
    assert len(key) >= 50 and key != "local-development-only-not-a-secret"

    said = re.search(r"Redis: redis://:\*\*\*@127\.0\.0\.1:(\d+)/", platform.log.read_text())
    assert said is not None, platform.log_tail()  # printed without its password
    port = int(said.group(1))
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).get("x")
    password = (data_dir / "redis-password").read_text().strip()
    assert redis.Redis(host="127.0.0.1", port=port, password=password).ping()

    if os.geteuid() != 0:
        pytest.skip("reading as another account needs root to switch users; modes checked above")
    targets = [data_dir / name for name in ("db.sqlite3", "secret_key", "private", "mail")]
    for target in [t for t in targets if t.exists()]:
        peek = subprocess.run(
            ["ls", "-la", str(target)] if target.is_dir() else ["cat", str(target)],
            user=65534, group=65534, extra_groups=[], capture_output=True, timeout=30,
        )  # fmt: skip
        assert peek.returncode != 0 and b"Permission denied" in peek.stderr, target


def test_ctrl_c_stops_every_process_and_exits_0(platform) -> None:
    # Last in the module: the fixture's platform is stopped here and checked.
    started = descendants(platform.process.pid)
    commands = [" ".join(p.cmdline()) for p in started]
    for what in ("redis-server", "gunicorn", "scoring@", "baselines@", "algorithms@", " beat "):
        assert any(what in c for c in commands), (what, commands)
    # Ctrl-C in a terminal: SIGINT to the command's process group.
    os.killpg(platform.process.pid, signal.SIGINT)
    assert platform.process.wait(timeout=60) == 0, platform.log_tail()
    log = platform.log.read_text(errors="replace")
    assert "Stopped: every process has exited." in log
    assert "Traceback" not in log
    wait_all_gone(started, timeout=30, what="the processes of the platform")
    with pytest.raises(requests.ConnectionError):
        requests.get(platform.url + "/", timeout=5)
