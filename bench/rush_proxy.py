"""The deadline rush's balancer and its native load generator (``bench/rush.py``).

- :func:`start_proxy`: HAProxy on loopback in front of the phase's gunicorn, configured by
  the platform's own ``manage.py haproxy_config`` (``leaderboard/cache/proxy.py``: the boards'
  cache for anonymous reads, the deployment's keep-alive), as the manual's multi-host
  deployment runs it; the readers and the teams go through it.
- :func:`wrk`: ``wrk`` (Debian's package) against one board for a few seconds, at the
  clients' CPU priority: requests per second and latency percentiles. The rush runs it
  during the upload phase against gunicorn directly and then through the proxy, so both
  paths meet the same uploads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from load_test import LOOPBACK, Process, run_manage, wait_until
from rush_clients import READER_AGENT

from runtime.localredis import free_port

WRK = shutil.which("wrk")
HAPROXY = shutil.which("haproxy")


def start_proxy(
    env: dict[str, str],
    data_dir: Path,
    *,
    web_port: int,
    per_server: int,
    slug: str,
    board_port: int | None = None,
    per_board_server: int = 16,
    code: Path | None = None,
) -> tuple[Process, str]:
    """HAProxy in front of ``127.0.0.1:web_port`` (and of the board server on
    ``board_port``, when there is one), configured by ``code``'s revision (a ``--before``
    phase's own configuration; default this one); (the process, its base URL)."""
    port = free_port(None)
    boards = []
    if board_port is not None:
        boards = [
            "--boards-server",
            f"boards={LOOPBACK}:{board_port}",
            "--per-boards-server",
            str(per_board_server),
        ]
    config = (run_manage if code is None else _manage_at(code))(
        env,
        "haproxy_config",
        "--bind",
        f"{LOOPBACK}:{port}",
        "--server",
        f"web={LOOPBACK}:{web_port}",
        "--per-server",
        str(per_server),
        "--health-host",
        LOOPBACK,
        *boards,
    )
    path = data_dir / f"haproxy-{slug}.cfg"
    # The log names each request's client (the readers' and teams' python-requests, or
    # wrk), so that :func:`served_by` counts the readers' reads only.
    path.write_text(
        config.replace(
            "frontend www\n", "frontend www\n    http-request capture req.hdr(user-agent) len 24\n"
        )
    )
    command = [HAPROXY or "haproxy", "-db", "-f", str(path)]
    process = Process("haproxy", command, env, data_dir / f"haproxy-{slug}.log")
    base = f"http://{LOOPBACK}:{port}"
    wait_until(
        lambda: requests.get(base + "/healthz", timeout=5).ok, timeout=60, what="HAProxy"
    )
    return process, base


def _manage_at(code: Path):
    """``run_manage`` with ``code``'s ``manage.py`` (another revision's)."""

    def run(env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(code / "manage.py"), *args],
            env={**env, "PYTHONPATH": str(code)},
            cwd=code,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    return run


@dataclass
class WrkResult:
    url: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: str  # wrk's "Non-2xx or 3xx" and socket error lines, "" when none


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[0-9.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}.get(unit, 1.0)


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    nice: int = 10,
    cpus: set[int] | None = None,
) -> WrkResult:
    """``wrk`` against ``url`` (no cookie, no credentials: an anonymous reader), on ``cpus``
    (default: those of this process)."""
    command = [
        "nice",
        "-n",
        str(nice),
        WRK or "wrk",
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        url,
    ]
    out = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = "; ".join(
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    return WrkResult(
        url=url,
        requests_per_second=rate,
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        errors=errors,
    )


class WrkDuringPhase:
    """After ``delay`` seconds, ``wrk`` for ``seconds`` against each of ``targets`` in turn
    (a name and a URL each), on a thread of its own while the phase's clients run."""

    def __init__(
        self,
        targets: list[tuple[str, str]],
        *,
        delay: float,
        seconds: float,
        connections: int,
        cpus: set[int] | None = None,
    ) -> None:
        self.results: dict[str, WrkResult] = {}
        self.failures: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(targets, delay, seconds, connections, cpus), daemon=True
        )
        self._thread.start()

    def _run(
        self,
        targets: list[tuple[str, str]],
        delay: float,
        seconds: float,
        connections: int,
        cpus: set[int] | None,
    ) -> None:
        if self._stop.wait(delay):
            return
        for name, url in targets:
            try:
                self.results[name] = wrk(url, seconds=seconds, connections=connections, cpus=cpus)
            except (subprocess.CalledProcessError, AttributeError, ValueError) as exc:
                self.failures[name] = str(exc)

    def join(self) -> None:
        self._thread.join(timeout=600)


# One line of HAProxy's log (``option httplog``): the frontend, backend/server, the timers
# TR/Tw/Tc/Tr/Ta in ms, the status, ... and the request line.
_LOG_LINE = re.compile(
    r" www (?P<server>\S+) -?\d+/(?P<Tw>-?\d+)/-?\d+/(?P<Tr>-?\d+)/(?P<Ta>-?\d+) (?P<status>\d+)"
    r'.*"(?P<method>[A-Z]+) (?P<path>\S+)'
)


@dataclass
class ServedBy:
    """Where the readers' board reads were answered (from HAProxy's log): by its cache or by
    a server, and for the latter the time waiting in HAProxy's queue (Tw) and the server's
    answer (Tr), in ms."""

    cached: int
    # Every read's total time in HAProxy (Ta: from its request to the answer's end), cache
    # hits too: the server side of what the readers measured, without their own processes'
    # waits (a reader thread waiting for its interpreter lock or CPU at nice 10).
    total: list[int]
    # The reads a server answered, by backend (``boards``: the board servers; ``web``: the
    # web servers, where a read spills when the board servers' queue is full): (Tw, Tr) each.
    by_backend: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def servers(self) -> int:
        """The reads a server answered, every backend."""
        return sum(len(timings) for timings in self.by_backend.values())

    @property
    def queued(self) -> list[int]:
        """Their waits in HAProxy's queue (Tw), every backend."""
        return [w for timings in self.by_backend.values() for w, _ in timings]

    @property
    def answered(self) -> list[int]:
        """Their servers' answer times (Tr), every backend."""
        return [a for timings in self.by_backend.values() for _, a in timings]

    def backend_lines(self, percentile: Callable[[list, float], float]) -> list[str]:
        """One line per backend: its reads, their queue and answer times (p50 / p95, ms)."""
        lines = []
        for backend, timings in sorted(self.by_backend.items()):
            waits, answers = [w for w, _ in timings], [a for _, a in timings]
            lines.append(
                f"by backend {backend}: {len(timings)} reads, queued p50"
                f" {percentile(waits, 50):.0f} / p95 {percentile(waits, 95):.0f} ms, answered"
                f" p50 {percentile(answers, 50):.0f} / p95 {percentile(answers, 95):.0f} ms"
            )
        return lines


def served_by(log: Path, board_paths: set[str]) -> ServedBy:
    cached, total = 0, []
    by_backend: dict[str, list[tuple[int, int]]] = {}
    for line in log.read_text("utf-8", errors="replace").splitlines():
        match = _LOG_LINE.search(line)
        if match is None or match["method"] != "GET" or match["path"] not in board_paths:
            continue
        if "{" + READER_AGENT not in line:
            continue  # wrk's
        total.append(int(match["Ta"]))
        if match["server"].endswith("<CACHE>"):
            cached += 1
        else:
            backend = match["server"].split("/", 1)[0]
            by_backend.setdefault(backend, []).append((int(match["Tw"]), int(match["Tr"])))
    return ServedBy(cached, total, by_backend)


def gunicorn_command(port: int, workers: int, threads: int) -> list[str]:
    """A gunicorn of the platform as the Procfile runs ``web`` and ``boards``."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "challenge_platform.wsgi:application",
        "--config",
        "python:challenge_platform.gunicorn_config",
        *("--bind", f"{LOOPBACK}:{port}"),
        *("--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)),
        "--timeout",
        "120",
        # As the Procfile (WEB_KEEPALIVE): above HAProxy's and the clients' keep-alive.
        *("--keep-alive", "75"),
    ]


def start_board_server(
    opts, code: Path, env: dict[str, str], data_dir: Path, slug: str
) -> tuple[Process, int] | None:
    """The Procfile's board server (``boards``: the reads HAProxy's cache cannot answer),
    when ``code``'s revision has one and the readers go through the proxy: a gunicorn beside
    the web with ``--board-threads`` threads; (the process, its port)."""
    procfile = (code / "Procfile").read_text("utf-8")
    if opts.board_threads < 1 or not re.search(r"^boards:", procfile, re.M):
        return None
    port = free_port()
    process = Process(
        "boards",
        gunicorn_command(port, opts.board_workers, opts.board_threads),
        env,
        data_dir / f"boards-{slug}.log",
        cwd=code,
    )
    wait_until(
        lambda: requests.get(f"http://{LOOPBACK}:{port}/healthz", timeout=5).ok,
        timeout=120,
        what="the board server",
    )
    return process, port
