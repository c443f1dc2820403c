"""What a team uploads and what its algorithm writes, through the real web server (gunicorn)
and a real algorithms worker with bubblewrap: the hostile rows of a participant's probe.

- An archive's code is only bytes outside the sandbox: four 10 MB modules of assignments
  (a compile bomb that packs at 2.6x, so no ratio check refuses it) cost the web server and
  the worker no memory to speak of and are answered at once; the run fails in the sandbox,
  naming its limit.
- ``algorithm.yaml`` nested 30,000 deep is a 400 with a clear message; a ``main.py`` of one
  100,000-term expression is accepted and fails its run with the interpreter's message.
- What the algorithm writes costs the worker O(1) to watch: 1,500 nested folders, and
  99,000 files followed by a sleep, end in one attempt with a truthful status, the worker's
  own CPU time for the whole run under a second.
- The sandbox's user is not host root and io_uring is refused, with the worker as root.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from algorithms.models import Algorithm, AlgorithmRun
from runtime.localredis import free_port
from testkit.archives import HONEST_MAIN, algorithm_zip, make_zip, manifest
from tests.challenges_tests.factories import api_key
from tests.support.algorithms_worker import LIMITS
from tests.support.celery_worker import REPO, WorkerProcess, manage_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

MIB = 1024 * 1024
TIMEOUT = 240
FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Web:
    url: str
    process: subprocess.Popen
    log_path: Path

    def worker_pid(self) -> int:
        (child,) = psutil.Process(self.process.pid).children()
        return child.pid

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])




@pytest.fixture
def web(redis_server, transactional_db, tmp_path: Path) -> Iterator[Web]:
    """gunicorn as the Procfile runs it (gthread), one worker, on the test database, with the
    tests' small run limits (the web process stores them on each run it queues)."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "challenge_platform.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread",
             "--threads", "4", "--timeout", "120"],
            cwd=REPO, env={**manage_env(), "REDIS_URL": redis_server.url,
                           **{k: str(v) for k, v in LIMITS.items()}},
            stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Web(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)

    def up() -> bool:
        try:
            return requests.get(server.url + "/api/v1/", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=120, what="gunicorn to answer", log=[server])
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def worker(redis_server, broker, transactional_db, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A real worker on the algorithms queue only (nothing else spends its CPU)."""
    process = WorkerProcess(
        redis_url=redis_server.url,
        log_path=tmp_path / "algorithms-worker.log",
        queues="algorithms",
        concurrency=1,
        name="untrusted",
    ).start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


class Team:
    """A participant talking to gunicorn over HTTP with its API token."""

    def __init__(self, web: Web, world) -> None:
        self.web, self.world = web, world
        self.headers = {"Authorization": f"Token {api_key(world.participant.user)}"}

    def upload(self, data: bytes) -> requests.Response:
        return requests.post(
            f"{self.web.url}/api/v1/challenges/{self.world.challenge.slug}/algorithms/",
            files={"file": ("algo.zip", data, "application/zip")},
            headers=self.headers,
            timeout=120,
        )

    def run(self, data: bytes, worker: WorkerProcess) -> AlgorithmRun:
        created = self.upload(data)
        assert created.status_code == 201, created.text
        return self.start(created.json()["id"], worker)

    def start(self, algorithm_id: int, worker: WorkerProcess) -> AlgorithmRun:
        started = requests.post(
            f"{self.web.url}/api/v1/algorithms/{algorithm_id}/runs/",
            json={"tasks": [self.world.classification.slug]},
            headers=self.headers,
            timeout=60,
        )
        assert started.status_code == 202, started.text
        (run,) = started.json()["runs"]
        wait_for(
            lambda: AlgorithmRun.objects.get(pk=run["id"]).status in FINAL,
            timeout=TIMEOUT,
            what=f"algorithm run {run['id']}",
            worker=worker,
            interval=0.25,
        )
        body = requests.get(
            f"{self.web.url}/api/v1/algorithm-runs/{run['id']}/", headers=self.headers, timeout=60
        )
        assert body.status_code == 200, body.text
        return AlgorithmRun.objects.get(pk=run["id"])


# --- what a process holds and spends ------------------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise LookupError(key)


class Peak:
    """The peak resident memory of processes above what they held when it was reset
    (``/proc/<pid>/clear_refs`` 5 resets the kernel's high-water mark)."""

    def __init__(self, pids: list[int]) -> None:
        self.idle = {}
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            self.idle[pid] = _status_kib(pid, "VmRSS")

    def above_idle_mib(self) -> float:
        return max(_status_kib(pid, "VmHWM") - rss for pid, rss in self.idle.items()) / 1024


def pool_pids(worker: WorkerProcess) -> list[int]:
    return [worker.process.pid, *(c.pid for c in psutil.Process(worker.process.pid).children())]


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


# --- archives --------------------------------------------------------------------------------


def compile_bomb_zip() -> bytes:
    """Four modules of 10 MB of plain assignments, imported by main.py."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("algorithm.yaml", manifest("Compile bomb"))
        archive.writestr("main.py", "import m0, m1, m2, m3\n")
        for module in range(4):
            lines, size, number = [], 0, 0
            while size < 10_000_000 - 64:
                line = f"v{module}_{number} = {number * 7919 % 1_000_003}\n"
                lines.append(line)
                size += len(line)
                number += 1
            archive.writestr(f"m{module}.py", "".join(lines))
    return buffer.getvalue()


def honest_after(prelude: str) -> bytes:
    """The honest algorithm (it writes valid predictions) with ``prelude`` run first."""
    return algorithm_zip(textwrap.dedent(prelude) + textwrap.dedent(HONEST_MAIN))


def test_a_compile_bomb_costs_the_web_server_and_the_worker_nothing(world, web, worker):
    team = Team(web, world)
    warm = team.run(algorithm_zip(), worker)  # the worker's imports, before it is measured
    assert warm.status == "succeeded", warm.error
    data = compile_bomb_zip()
    assert 10 * MIB < len(data) < 20 * MIB  # packs at about 2.6x: no ratio check refuses it
    web_peak = Peak([web.worker_pid()])
    worker_peak = Peak(pool_pids(worker))
    started = time.monotonic()
    created = team.upload(data)
    answered = time.monotonic() - started
    assert created.status_code == 201, created.text
    assert answered < 10, answered
    assert web_peak.above_idle_mib() < 300, web_peak.above_idle_mib()
    run = team.start(created.json()["id"], worker)
    assert worker_peak.above_idle_mib() < 300, worker_peak.above_idle_mib()
    # Compiling 40 MB of assignments is the run's own work, within the run's own limits.
    assert run.status == "failed" and run.attempts == 1, (run.status, run.error)
    assert "stopped: the algorithm hit the" in run.error, run.error


def test_a_manifest_nested_30000_deep_is_a_400_with_a_message(world, web):
    nested = make_zip(
        {
            "algorithm.yaml": "name: " + "[" * 30_000 + "]" * 30_000 + "\n",
            "main.py": "print(1)\n",
        }
    )
    response = Team(web, world).upload(nested)
    assert response.status_code == 400, response.text
    assert "algorithm.yaml is refused (line 1): nested more than 4 levels deep" in (
        response.json()["detail"]
    )
    assert not Algorithm.objects.exists()
    assert "Traceback" not in web.log_path.read_text(errors="replace")


def test_one_100000_term_expression_fails_its_run_in_the_sandbox(world, web, worker):
    deep = "x = " + " + ".join(map(str, range(100_000))) + "\n"
    run = Team(web, world).run(algorithm_zip(deep), worker)
    assert run.status == "failed" and run.attempts == 1, (run.status, run.error)
    assert run.error == (
        "the algorithm exited with code 1: "
        "RecursionError: maximum recursion depth exceeded during compilation"
    )


NESTED_FOLDERS = """
import os
path = "/output/deep"
os.mkdir(path)
for level in range(1500):
    path += "/d"
    os.mkdir(path)
print("NESTED 1500", flush=True)
"""


def test_1500_nested_folders_in_output_end_in_one_attempt(world, web, worker):
    """The recursive walk of /output raised RecursionError: the run was reported as the
    platform's fault and run twice. Nothing walks it now; the honest predictions beside the
    folders are read, and the run succeeds once."""
    run = Team(web, world).run(honest_after(NESTED_FOLDERS), worker)
    assert run.status == "succeeded" and run.attempts == 1, (run.status, run.error)
    assert "NESTED 1500" in run.log_tail


MANY_FILES = """
import os, time
os.mkdir("/output/many")
for number in range(99_000):
    open(f"/output/many/{number}", "w").close()
print("WROTE 99000", flush=True)
time.sleep(8)
"""


def test_99000_files_then_a_sleep_cost_the_worker_under_a_second_of_cpu(world, web, worker):
    """The watcher walked every entry every 20 ms: 11 s of worker CPU for such a run. It
    looks at /output with one fstatvfs now (the worker's CPU is measured, not the time)."""
    team = Team(web, world)
    warm = team.run(algorithm_zip(), worker)
    assert warm.status == "succeeded", warm.error
    pids = pool_pids(worker)
    before = cpu_seconds(pids)
    run = team.run(honest_after(MANY_FILES), worker)
    spent = cpu_seconds(pids) - before
    assert run.status == "succeeded" and run.attempts == 1, (run.status, run.error)
    assert "WROTE 99000" in run.log_tail and run.seconds > 8
    assert spent < 1.0, spent


USER_AND_IO_URING = """
import ctypes, errno
print("UIDMAP", " ".join(open("/proc/self/uid_map").read().split()), flush=True)
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
failed = libc.syscall(425, 8, params)  # io_uring_setup (x86-64 and arm64 number)
print("IO_URING", errno.errorcode.get(ctypes.get_errno()) if failed == -1 else "ALLOWED")
"""


def test_the_sandbox_user_is_not_host_root_and_io_uring_is_refused(world, web, worker):
    run = Team(web, world).run(honest_after(USER_AND_IO_URING), worker)
    assert run.status == "succeeded", run.error
    line = next(x for x in run.log_tail.splitlines() if x.startswith("UIDMAP "))
    inside, host, count = map(int, line.split()[1:])
    assert (inside, count) == (65534, 1) and host != 0, line
    if os.geteuid() == 0:  # the worker runs as root here: the sandbox is its nobody
        assert host == 65534, line
    assert "IO_URING ENOSYS" in run.log_tail or "IO_URING EPERM" in run.log_tail, run.log_tail
