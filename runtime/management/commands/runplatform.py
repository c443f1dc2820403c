"""Run the whole embedded platform in the foreground (the README's run command).

The processes are the ``Procfile``'s (web, workers, beat: see runtime.procfile),
started together by honcho with local values for their variables. The web process is
gunicorn, the production WSGI server, with DEBUG off and static files served by WhiteNoise
from ``$DATA_DIR/static``. ``DEV_SERVER=1`` swaps it for Django's development server with
DEBUG on, for working on the code only: it lists URL patterns on a 404 and does not read
chunked uploads.

The web server listens on 127.0.0.1, port ``--port`` (``make run PORT=8001``; default 8000),
or on ``--addr HOST:PORT``. Ctrl-C (SIGINT) or SIGTERM stops every process, the setup step
under way included, and the command then exits 0: a stop asked for is no failure (``make``
would otherwise report the recipe as ``Error 130``). A process that dies on its own stops
the others, and the command exits with its status.

Everything it and its processes create under ``$DATA_DIR`` (database, media, private files,
Redis data, mail, the beat's schedule) is its owner's only (umask 077, ``0700`` folders),
and the local Redis asks for a password kept in ``$DATA_DIR/redis-password`` (0600).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from runtime.datadir import PRIVATE_UMASK, install_secret, private_dir
from runtime.localredis import (
    DEFAULT_REDIS_PORT,
    REDIS_AUTH_FILE,
    REDIS_FOLDER,
    listen_problem,
    start_local_redis,
)
from runtime.mail import mail_destination
from runtime.procfile import BEHIND_A_BALANCER, processes

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# gunicorn's graceful stop here: below honcho's KILL_WAIT (5 s), after which it SIGKILLs.
WEB_GRACEFUL_SECONDS = 3
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SYSTEM_PACKAGES = Path(settings.BASE_DIR) / "scripts" / "system_packages.sh"


def dev_server_wanted() -> bool:
    return os.environ.get("DEV_SERVER", "") in ("1", "true", "yes")


def web_address(*, port: str | int | None, addr: str | None) -> tuple[str, int]:
    """``(host, port)`` of the web server from ``--addr HOST:PORT`` or ``--port``; a
    CommandError that names the option when either is not an address."""
    if addr:
        host, sep, port_text = addr.rpartition(":")
        if not sep or not host:
            raise CommandError(f"--addr must be HOST:PORT, e.g. 127.0.0.1:8001 (got {addr!r})")
        return host.strip("[]"), _port(port_text, "--addr")
    return DEFAULT_HOST, _port(DEFAULT_PORT if port is None else port, "PORT")


def _port(value: str | int, option: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise CommandError(f"{option}: {text!r} is not a port number (1-65535), e.g. PORT=8001")
    return int(text)


class _Stop:
    """Until honcho takes over the signals: remembers a SIGINT/SIGTERM and stops the setup
    step under way as honcho stops the Procfile's processes (SIGTERM to its process group,
    SIGKILL after a few seconds). Each step runs in a process group of its own, so a Ctrl-C
    in the terminal reaches this command alone and the step ends without a traceback."""

    KILL_AFTER = 10.0  # seconds

    def __init__(self) -> None:
        self.signal: int | None = None
        self._child: subprocess.Popen | None = None
        self._asked_at = 0.0
        self._previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal, self._asked_at = signum, time.monotonic()
        self._signal_child(signal.SIGTERM)

    def _signal_child(self, signum: int) -> None:
        if self._child is not None and self._child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._child.pid, signum)

    def run(self, command: list[str], env: dict[str, str]) -> int:
        """Run one setup step to its end (or until a stop signal ends it); its exit status."""
        self._child = subprocess.Popen(command, env=env, process_group=0)
        try:
            if self.signal is not None:  # it came while the step was being started
                self._signal_child(signal.SIGTERM)
            while True:
                try:
                    return self._child.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    if self.signal and time.monotonic() - self._asked_at > self.KILL_AFTER:
                        self._signal_child(signal.SIGKILL)
        finally:
            self._child = None

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Command(BaseCommand):
    help = (
        "Start Redis and every process of the Procfile (gunicorn, the Celery workers, beat); "
        "Ctrl-C stops all and exits 0. DEV_SERVER=1 uses Django's development server instead "
        "of gunicorn."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            default=None,
            help=f"the web server's port on {DEFAULT_HOST} (default {DEFAULT_PORT}; "
            "`make run PORT=8001`)",
        )
        parser.add_argument(
            "--addr", default=None, help="HOST:PORT the web server listens on (instead of --port)"
        )
        parser.add_argument(
            "--redis-port",
            type=int,
            default=int(os.environ.get("LOCAL_REDIS_PORT", DEFAULT_REDIS_PORT)),
        )
        parser.add_argument("--no-demo", action="store_true", help="don't build the demo challenge")

    def handle(self, *args, **opts) -> None:
        host, port = web_address(port=opts["port"], addr=opts["addr"])
        # The system packages it needs (bubblewrap: every algorithm run and baseline), installed
        # when it can, else one message naming each and a stop, before anything starts: the
        # one list `make run` checks first too. Silent when every package is there.
        checked = subprocess.run(["bash", str(SYSTEM_PACKAGES), "run"], check=False)
        if checked.returncode != 0:
            sys.exit(checked.returncode)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        problem = listen_problem(host, port)
        if problem == "in use":
            raise CommandError(
                f"port {port} on {host} is in use (another `make run`?); "
                f"choose another: make run PORT={port + 1}"
            )
        if problem:
            raise CommandError(f"cannot listen on {address}: {problem}")
        stop = _Stop()
        try:
            code = self._run(address, opts, stop)
        finally:
            stop.restore()
        sys.exit(code)

    def _run(self, address: str, opts: dict, stop: _Stop) -> int:
        from honcho.manager import SIGNALS, Manager

        os.umask(PRIVATE_UMASK)  # inherited by every process started below
        data_dir = private_dir(Path(settings.DATA_DIR))
        env = self._environment(data_dir, address)
        redis = None
        try:
            if not os.environ.get("REDIS_URL"):
                # Its port and password stay under DATA_DIR, where every other process of
                # this install (a manage.py command in another shell) finds them.
                redis = start_local_redis(
                    data_dir / REDIS_FOLDER,
                    port=opts["redis_port"],
                    password=install_secret(data_dir / REDIS_AUTH_FILE, nbytes=32, min_length=32),
                )
                env["REDIS_URL"] = redis.url
                self.stdout.write(f"Redis: {redis.display_url} (data in {redis.data_dir})")
            # Sign-up confirmations and password resets land here in the embedded default.
            self.stdout.write(f"Mail: {mail_destination()}")
            py = sys.executable
            manage = str(Path(settings.BASE_DIR) / "manage.py")
            # Setup runs in child processes so they see the REDIS_URL chosen above.
            steps = [
                ["migrate", "--no-input", "-v", "0"],
                ["collectstatic", "--no-input", "-v", "0"],
                ["ensure_accounts"],
            ]
            if not opts["no_demo"] and "load_demo" in get_commands():
                steps.append(["load_demo"])
            for step in steps:
                returncode = stop.run([py, manage, *step], env) if stop.signal is None else None
                if stop.signal is not None:
                    self.stdout.write(f"Stopped before the platform was up ({_name(stop.signal)}).")
                    return 0
                if returncode != 0:
                    raise CommandError(f"setup step failed: manage.py {' '.join(step)}")
            # Background processes are started again when they crash (the web server's master
            # does that for its own workers): runtime/respawn.py. The board server
            # is left out: only a balancer sends it requests, and there is none here.
            commands = {
                name: command if name == "web" else respawned(name=name, command=command, py=py)
                for name, command in processes().items()
                if name not in BEHIND_A_BALANCER
            }
            if dev_server_wanted():
                commands["web"] = f"{py} {manage} runserver {address} --noreload"
                self.stdout.write("DEV_SERVER=1: Django's development server, DEBUG on")
            manager = Manager()
            for name, command in commands.items():
                manager.add_process(name, command, env=env, cwd=str(settings.BASE_DIR))
            if stop.signal is not None:
                return 0
            # "The platform is up" once the web server answers, not when it is merely started.
            announced = announce_when_up(address, self.stdout)
            # honcho handles SIGINT/SIGTERM from here: SIGTERM to every process group, SIGKILL
            # to what is left after 5 s; its return code then names the signal (130, 143).
            try:
                manager.loop()
            finally:
                announced.set()
            if manager.returncode in {entry["rc"] for entry in SIGNALS.values()}:
                self.stdout.write("Stopped: every process has exited.")
                return 0
            return manager.returncode or 0
        finally:
            if redis is not None:
                redis.stop()

    @staticmethod
    def _environment(data_dir: Path, addr: str) -> dict[str, str]:
        """The processes' environment: this one, plus the local values of the Procfile's
        variables, with this interpreter's folder first on PATH (gunicorn, celery)."""
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
        env["PYTHONUNBUFFERED"] = "1"
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["WEB_BIND"] = addr
        # Links in mails sent by the workers point at the port the site really has.
        env.setdefault("SITE_URL", f"http://{addr}")
        env.setdefault("WEB_CONCURRENCY", "2")
        env.setdefault("WORKER_CONCURRENCY", "2")
        # A Ctrl-C stops gunicorn within honcho's 5 s before SIGKILL (held waits answer at
        # once on the stop: runtime/web_worker.py).
        env.setdefault("WEB_GRACEFUL_TIMEOUT", str(WEB_GRACEFUL_SECONDS))
        env["CELERY_BEAT_SCHEDULE"] = str(data_dir / "celerybeat-schedule")
        env["DEBUG"] = "1" if dev_server_wanted() else env.get("DEBUG", "0")
        return env


def respawned(*, name: str, command: str, py: str) -> str:
    """``command`` run by the respawn wrapper (started again when it crashes)."""
    return f"{py} -m runtime.respawn {shlex.quote(name)} {shlex.quote(command)}"


def _name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


UP_POLL_SECONDS = 0.5


def announce_when_up(
    address: str, out: OutputWrapper, *, poll: float = UP_POLL_SECONDS
) -> threading.Event:
    """Print "The platform is up at http://<address>/" once the web server there answers
    an HTTP request (any status: it is serving), from a daemon thread polling ``/healthz``;
    until then say that it is starting. Set the returned event to stop waiting (the
    processes ended first: nothing is announced)."""
    done = threading.Event()
    out.write(f"Starting the web server and workers; waiting for http://{address}/ to answer ...")
    out.flush()

    def wait() -> None:
        while not done.is_set():
            if _answers(f"http://{address}/healthz"):
                if not done.is_set():
                    out.write(
                        f"\nThe platform is up at http://{address}/ (Ctrl-C stops everything)\n"
                    )
                    out.flush()
                return
            done.wait(poll)

    threading.Thread(target=wait, name="announce-when-up", daemon=True).start()
    return done


# Straight to the address, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # an answer all the same (e.g. a host the settings do not allow)
    except (OSError, ValueError):
        return False
