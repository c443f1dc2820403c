"""`make run` and `manage.py runplatform` as a user meets them: the port option, a port that
is taken, and Ctrl-C, which stops every process and exits 0, so make reports no error.

Each run here is stopped while its first setup step (migrate) runs, which keeps them quick;
tests/runtime_tests/test_embedded_server.py stops a whole running platform the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from runtime.localredis import free_port
from runtime.management.commands.runplatform import Command, web_address
from tests.support.processes import child_running, descendants, wait_all_gone
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]




def _environment(data_dir: Path) -> dict[str, str]:
    """This environment for a local run of its own: its own data folder and Redis port."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "DATABASE_URL", "DEBUG", "DEV_SERVER", "PORT", "SITE_URL")
    }
    env.update(
        DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="challenge_platform.settings.local",
        LOCAL_REDIS_PORT=str(free_port()),
    )
    return env


def _runplatform(*args: str, env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [sys.executable, "manage.py", "runplatform", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


# --- the port -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "addr", "expected"),
    [
        (None, None, ("127.0.0.1", 8000)),
        ("8001", None, ("127.0.0.1", 8001)),
        (" 8002 ", None, ("127.0.0.1", 8002)),
        ("8001", "0.0.0.0:9000", ("0.0.0.0", 9000)),  # --addr wins
        (None, "[::1]:8003", ("::1", 8003)),
    ],
)
def test_the_web_address_comes_from_port_or_addr(port, addr, expected) -> None:
    assert web_address(port=port, addr=addr) == expected


@pytest.mark.parametrize(
    ("port", "addr", "message"),
    [
        ("abc", None, "PORT: 'abc' is not a port number"),
        ("0", None, "PORT: '0' is not a port number"),
        ("65536", None, "PORT: '65536' is not a port number"),
        ("-1", None, "PORT: '-1' is not a port number"),
        ("", None, "PORT: '' is not a port number"),
        (None, "8001", "--addr must be HOST:PORT"),
        (None, "localhost:http", "--addr: 'http' is not a port number"),
    ],
)
def test_a_port_that_is_no_port_is_refused_by_name(port, addr, message) -> None:
    with pytest.raises(CommandError, match=message.replace("[", r"\[")):
        web_address(port=port, addr=addr)


def test_the_processes_learn_the_address(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SITE_URL", raising=False)
    env = Command._environment(tmp_path, "127.0.0.1:8001")
    assert env["WEB_BIND"] == "127.0.0.1:8001"
    assert env["SITE_URL"] == "http://127.0.0.1:8001"  # links in mails the workers send
    monkeypatch.setenv("SITE_URL", "https://challenge.example.org")
    assert Command._environment(tmp_path, "127.0.0.1:8001")["SITE_URL"] == (
        "https://challenge.example.org"
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_make_run_passes_its_port_option_on() -> None:
    # Run from `make test`, the outer make's MAKEFLAGS/MAKELEVEL would make this one print
    # "Entering/Leaving directory" lines: the command is checked as a user types it.
    outer = {"PORT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}
    env = {k: v for k, v in os.environ.items() if k not in outer}

    def command(*args: str, **extra: str) -> str:
        done = subprocess.run(
            ["make", "-n", "run", *args], cwd=REPO, env={**env, **extra},
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1]

    assert command() == ".venv/bin/python manage.py runplatform --port '8000'"
    assert command("PORT=8001") == ".venv/bin/python manage.py runplatform --port '8001'"
    assert command(PORT="8002").endswith("--port '8002'")  # from the environment too


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _runplatform("--port", str(port), "--no-demo", env=_environment(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"CommandError: port {port} on 127.0.0.1 is in use (another `make run`?); "
        f"choose another: make run PORT={port + 1}"
    )
    assert not (tmp_path / "redis").exists()  # nothing was started


def test_a_bad_port_is_one_line_and_no_traceback(tmp_path) -> None:
    done = _runplatform("--port", "80a", env=_environment(tmp_path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("CommandError: PORT: '80a' is not a port number")


# --- Ctrl-C ---------------------------------------------------------------------------------


def _stop_during_migrate(command: list[str], env: dict[str, str], log: Path):
    """Start ``command`` in a session of its own, press Ctrl-C (SIGINT to its process group,
    as a terminal does) while the migrate step runs; the process and all it had started."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(
            lambda: child_running(process.pid, "manage.py", "migrate"),
            timeout=120,
            what=f"the migrate step to start:\n{log.read_text(errors='replace')}",
        )
        started = descendants(process.pid)  # Redis, the migrate step (and make's runplatform)
        assert any("redis-server" in " ".join(p.cmdline()) for p in started), started
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process, started


def test_ctrl_c_during_setup_stops_every_process_and_exits_0(tmp_path) -> None:
    log = tmp_path / "run.log"
    process, started = _stop_during_migrate(
        [sys.executable, "manage.py", "runplatform", "--port", str(free_port()), "--no-demo"],
        _environment(tmp_path / "data"),
        log,
    )
    output = log.read_text(errors="replace")
    assert process.returncode == 0, output
    assert "Stopped before the platform was up (Ctrl-C)." in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    wait_all_gone(started, timeout=30, what="the processes runplatform had started")


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
    reason="make run uses the repository's .venv; these tests run from another environment",
)
def test_make_run_ends_without_an_error_on_ctrl_c(tmp_path) -> None:
    log = tmp_path / "make.log"
    env = _environment(tmp_path / "data")
    process, started = _stop_during_migrate(["make", "run", f"PORT={free_port()}"], env, log)
    output = log.read_text(errors="replace")
    # make passes the signal on to itself once its recipe is done, as it must; what it must
    # not print is "Error 130" (the recipe failing).
    assert process.returncode in (0, -signal.SIGINT), output
    assert "Error" not in output, output
    assert "Stopped before the platform was up (Ctrl-C)." in output
    wait_all_gone(started, timeout=30, what="the processes make run had started")


def test_the_platform_is_announced_up_only_once_the_web_server_answers() -> None:
    """``make run`` used to print "The platform is up" half a minute before the site
    answered (first start): it now waits for an HTTP answer at the address."""
    import http.server
    import io
    import threading
    import time

    from django.core.management.base import OutputWrapper

    from runtime.management.commands.runplatform import announce_when_up

    port = free_port()
    buffer = io.StringIO()
    done = announce_when_up(f"127.0.0.1:{port}", OutputWrapper(buffer), poll=0.05)
    try:
        assert f"waiting for http://127.0.0.1:{port}/ to answer" in buffer.getvalue()
        time.sleep(1.0)  # many polls meet a closed port: nothing is announced
        assert "is up" not in buffer.getvalue()

        class Quiet(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # the stdlib's name for a GET handler
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", port), Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            wait_for(lambda: "is up" in buffer.getvalue(), timeout=30, what="the announcement")
        finally:
            server.shutdown()
            server.server_close()
        assert f"The platform is up at http://127.0.0.1:{port}/" in buffer.getvalue()
        assert buffer.getvalue().count("is up") == 1
    finally:
        done.set()


def test_nothing_is_announced_when_the_processes_end_first() -> None:
    import http.server
    import io
    import threading
    import time

    from django.core.management.base import OutputWrapper

    from runtime.management.commands.runplatform import announce_when_up

    port = free_port()
    buffer = io.StringIO()
    done = announce_when_up(f"127.0.0.1:{port}", OutputWrapper(buffer), poll=0.05)
    done.set()  # manager.loop() returned: the processes ended before the site answered
    server = http.server.HTTPServer(("127.0.0.1", port), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        time.sleep(1.0)  # something answers there now: still no announcement
    finally:
        server.shutdown()
        server.server_close()
    assert "is up" not in buffer.getvalue()
