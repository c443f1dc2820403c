"""Task file downloads through the real web server against their read floor.

Starts, on loopback only: a private Redis (the cache), moto's S3 server, and per storage
backend (local disk, then S3 through moto) a platform instance of its own (SQLite under a
temporary ``DATA_DIR``, gunicorn started from the Procfile's ``web`` line, with its flags and
hooks). A small task is imported and its ``train.parquet`` replaced by ``--size-mb`` of
random bytes (a download does not parse it). Then, ``--repeat`` times, interleaved:

- **floor**: a child process reads the stored file through Django storage, as a view would
  (``storage.open`` and ``read`` in 1 MiB chunks): the whole file, then its second half;
- **ours**: ``curl`` downloads it as a participant does, through gunicorn (token auth,
  ``GET /api/v1/tasks/<slug>/files/train.parquet``): the whole file, then the second half
  resumed with ``Range: bytes=<half>-`` (status and size checked; the bytes themselves are
  compared with the stored ones once per backend, untimed).

Printed per backend: the median seconds of each, MB/s, and ours / floor with the spread of
the per-repeat ratios (the machine is shared: both are measured in the same minutes). For
S3 the floor is the cheaper of Django storage's read (django-storages downloads the object
to a temporary file first) and a streamed GET of the object with the storage's own client.

With ``--before <git revision>`` a second gunicorn serves the same data with that revision's
code, measured in the same rounds (a before/after in one run).

Run: .venv/bin/python -m bench.bench_downloads [--size-mb 512] [--repeat 5] [--no-s3]
     [--before <revision>]
A measurement: exit 1 only when a download is wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests

from bench.load_test import LOOPBACK, REPO, Process, prepare, run_manage, wait_until
from runtime.localredis import free_port, start_local_redis

MIB = 1024 * 1024
BUCKET = "downloads"
KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}

REPLACE = """
import json
from django.core.files import File
from datasets.models import Task
field = Task.objects.get(slug={slug!r}).train_parquet
storage, name = field.storage, field.name
storage.delete(name)
with open({source!r}, "rb") as handle:
    saved = storage.save(name, File(handle))
assert saved == name, (saved, name)
print(json.dumps({{"name": name, "size": storage.size(name)}}))
"""

FLOOR = """
import json, time
from datasets.models import Task
field = Task.objects.get(slug={slug!r}).train_parquet
storage, name = field.storage, field.name
size = storage.size(name)
started = time.perf_counter()
read = 0
for offset in (0, size // 2):  # the same bytes as the downloads: whole, then the half
    with storage.open(name, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read({chunk}):
            read += len(chunk)
storage_seconds = time.perf_counter() - started
raw_seconds = None
if hasattr(storage, "bucket"):  # S3: the object streamed with the storage's own client
    key = storage._normalize_name(name)
    started = time.perf_counter()
    for offset in (0, size // 2):
        body = storage.bucket.Object(key).get(Range=f"bytes={{offset}}-")["Body"]
        for chunk in body.iter_chunks({chunk}):
            read += len(chunk)
    raw_seconds = time.perf_counter() - started
print(json.dumps({{"storage": storage_seconds, "raw": raw_seconds, "read": read}}))
"""


# The download floor: the smallest HTTP server that can send the stored bytes (a file on
# disk with sendfile(); an S3 object with one ranged GET relayed in 1 MiB blocks), reading
# through the same Django storage, answering one request at a time. No Django request
# handling, no authentication, no gunicorn: what any download costs on this machine.
BARE_SERVER = """
import re, socket, sys
from datasets.models import Task
field = Task.objects.get(slug={slug!r}).train_parquet
storage, name = field.storage, field.name
size = storage.size(name)
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        head += conn.recv(65536)
    asked = re.search(rb"(?i)\\r\\nrange: bytes=(\\d+)-", head)
    first = int(asked.group(1)) if asked else 0
    status = "206 Partial Content" if asked else "200 OK"
    conn.sendall(f"HTTP/1.1 {{status}}\\r\\nContent-Length: {{size - first}}\\r\\n"
                 "Connection: close\\r\\n\\r\\n".encode())
    if hasattr(storage, "bucket"):
        body = storage.bucket.Object(storage._normalize_name(name)).get(
            Range=f"bytes={{first}}-")["Body"]
        for chunk in body.iter_chunks({chunk}):
            conn.sendall(chunk)
    else:
        with storage.open(name, "rb") as handle:
            conn.sendfile(handle.file, offset=first)
    conn.close()
"""


@dataclass
class Instance:
    """One platform instance (a storage backend) and its figures."""

    backend: str
    env: dict[str, str]
    base: str
    token: str
    slug: str
    size: int
    digest: str
    bare: str = ""  # the bare server's address
    before: str = ""  # gunicorn running an earlier revision's code on the same data (--before)
    ours_before: list[float] = field(default_factory=list)
    web_pgid: dict[str, int] = field(default_factory=dict)  # address -> gunicorn's group
    cpu: dict[str, list[float]] = field(default_factory=dict)  # address -> server CPU s
    floor: list[float] = field(default_factory=list)
    download_floor: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    storage_read: list[float] = field(default_factory=list)
    raw_read: list[float] = field(default_factory=list)


def random_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 8 * MIB))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def procfile_web() -> str:
    from honcho.environ import parse_procfile

    return dict(parse_procfile((REPO / "Procfile").read_text()).processes)["web"]


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of process group ``pgid``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def start_web(env: dict[str, str], log: Path, procs: list, code: Path = REPO) -> str:
    """gunicorn from the Procfile's ``web`` line, running the code in ``code``; its address."""
    port = free_port()
    web_env = {**env, "WEB_BIND": f"{LOOPBACK}:{port}", "PYTHONPATH": str(code)}
    command = f"cd {shlex.quote(str(code))} && exec {procfile_web()}"
    procs.append(Process(log.stem, ["/bin/sh", "-c", command], web_env, log))
    base = f"http://{LOOPBACK}:{port}"
    wait_until(lambda: requests.get(f"{base}/healthz", timeout=5).ok, timeout=120, what="gunicorn")
    return base


def web_group(procs: list) -> int:
    return procs[-1].popen.pid  # started in a session (and so a group) of its own


def start_instance(
    backend: str,
    root: Path,
    base_env: dict[str, str],
    source: Path,
    digest: str,
    procs: list,
    before: Path | None,
) -> Instance:
    data = root / backend
    data.mkdir()
    env = {**base_env, "DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{data}/db.sqlite3"}
    if backend == "s3":
        env["STORAGE_BACKEND"] = "s3"
    fixture = prepare(env, data, clients=1, rows=200)
    out = run_manage(env, "shell", "-c", REPLACE.format(slug=fixture.task_slug, source=str(source)))
    stored = json.loads(out.strip().splitlines()[-1])
    base = start_web(env, data / "web.log", procs)
    groups = {base: web_group(procs)}
    previous = ""
    if before:
        previous = start_web(env, data / "web-before.log", procs, before)
        groups[previous] = web_group(procs)
    bare_log = data / "bare.log"
    procs.append(Process(f"bare-{backend}", [sys.executable, str(REPO / "manage.py"), "shell",
                         "-c", BARE_SERVER.format(slug=fixture.task_slug, chunk=MIB)], env,
                         bare_log))  # fmt: skip
    port_line = lambda: bare_log.read_text().strip().rsplit("\n", 1)[-1]  # noqa: E731
    wait_until(lambda: port_line().isdigit(), timeout=120, what="the bare server")
    bare = f"http://{LOOPBACK}:{port_line()}"
    return Instance(
        backend, env, base, fixture.tokens[0], fixture.task_slug, stored["size"], digest, bare,
        previous, web_pgid=groups,
    )  # fmt: skip


def measure_floor(inst: Instance) -> None:
    out = run_manage(inst.env, "shell", "-c", FLOOR.format(slug=inst.slug, chunk=MIB))
    figures = json.loads(out.strip().splitlines()[-1])
    inst.storage_read.append(figures["storage"])
    if figures["raw"] is not None:
        inst.raw_read.append(figures["raw"])
    inst.floor.append(min(t for t in (figures["storage"], figures["raw"]) if t is not None))


def curl(inst: Instance, *, first: int, out: Path | str = "/dev/null", base: str = "") -> float:
    """One download with curl from ``base`` (default: the platform); its seconds."""
    if base and base == inst.bare:
        url = base
    else:
        url = f"{base or inst.base}/api/v1/tasks/{inst.slug}/files/train.parquet"
    report = "%{http_code} %{size_download} %{time_total}"
    command = ["curl", "-s", "-S", "-o", str(out), "-w", report,
               "-H", f"Authorization: Token {inst.token}"]  # fmt: skip
    if first:
        command += ["-H", f"Range: bytes={first}-"]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=600)
    status, size, seconds = result.stdout.split()
    want = (206 if first else 200, inst.size - first)
    if (int(status), int(size)) != want:
        raise SystemExit(f"{inst.backend}: got {status} with {size} bytes, wanted {want}")
    return float(seconds)


def check_bytes(inst: Instance, scratch: Path) -> None:
    """Once per backend, untimed: the whole file and the resumed half are the stored bytes."""
    whole, half = scratch / "whole", scratch / "half"
    curl(inst, first=0, out=whole)
    curl(inst, first=inst.size // 2, out=half)
    if sha256(whole) != inst.digest or half.read_bytes() != read_at(whole, inst.size // 2):
        raise SystemExit(f"{inst.backend}: the downloaded bytes differ from the stored ones")
    whole.unlink()
    half.unlink()


def measure_download_floor(inst: Instance) -> None:
    """The same two downloads from the bare server."""
    half = inst.size // 2
    bare = inst.bare
    inst.download_floor.append(curl(inst, first=0, base=bare) + curl(inst, first=half, base=bare))


def measure_ours(inst: Instance) -> None:
    """The whole file, then its second half resumed (bodies to /dev/null: curl's writes are
    no part of the server's cost)."""
    half = inst.size // 2
    for base, seconds in ((inst.base, inst.ours), (inst.before, inst.ours_before)):
        if not base:
            continue
        cpu = group_cpu(inst.web_pgid[base])
        seconds.append(curl(inst, first=0, base=base) + curl(inst, first=half, base=base))
        inst.cpu.setdefault(base, []).append(group_cpu(inst.web_pgid[base]) - cpu)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def read_at(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read()


def report(instances: list[Instance], size_mb: int) -> None:
    moved = 1.5 * size_mb  # the whole file and its second half, MiB
    print(
        f"\n{'backend':<8}{'read s':>8}{'floor s':>9}{'ours s':>8}{'ours MiB/s':>12}"
        f"{'ours/floor':>12}  spread{'ours/read':>13}  spread{'web CPU s':>11}"
    )
    for inst in instances:
        read = statistics.median(inst.floor)
        floor = statistics.median(inst.download_floor)
        ours = statistics.median(inst.ours)
        by_floor = [o / f for o, f in zip(inst.ours, inst.download_floor, strict=True)]
        by_read = [o / f for o, f in zip(inst.ours, inst.floor, strict=True)]
        print(
            f"{inst.backend:<8}{read:>8.3f}{floor:>9.3f}{ours:>8.3f}{moved / ours:>12.0f}"
            f"{ours / floor:>11.2f}x  {min(by_floor):.2f}-{max(by_floor):.2f}x"
            f"{ours / read:>12.2f}x  {min(by_read):.2f}-{max(by_read):.2f}x"
            f"{statistics.median(inst.cpu[inst.base]):>11.2f}"
        )
        if inst.ours_before:
            was = statistics.median(inst.ours_before)
            by_floor = [o / f for o, f in zip(inst.ours_before, inst.download_floor, strict=True)]
            by_read = [o / f for o, f in zip(inst.ours_before, inst.floor, strict=True)]
            print(
                f"{'  before':<8}{read:>8.3f}{floor:>9.3f}{was:>8.3f}{moved / was:>12.0f}"
                f"{was / floor:>11.2f}x  {min(by_floor):.2f}-{max(by_floor):.2f}x"
                f"{was / read:>12.2f}x  {min(by_read):.2f}-{max(by_read):.2f}x"
                f"{statistics.median(inst.cpu[inst.before]):>11.2f}"
            )
        if inst.raw_read:
            print(
                f"  (S3 read: Django storage's open/read {statistics.median(inst.storage_read):.3f}"
                f" s, a streamed GET {statistics.median(inst.raw_read):.3f} s; the cheaper counts)"
            )
    print(
        "read: the stored bytes read through Django storage in this process's child; floor: the"
        " same bytes downloaded by curl from a bare server reading them through the same"
        " storage (sendfile / one relayed GET); ours: downloaded by curl through gunicorn and"
        " the platform's API; web CPU: what gunicorn's processes spent on ours (the median)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=512, help="size of the task file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-s3", action="store_true", help="local storage only")
    parser.add_argument(
        "--before",
        metavar="REVISION",
        help="also serve the same data with the code of this git revision (a before/after)",
    )
    opts = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("bench_downloads needs curl")
    root = Path(tempfile.mkdtemp(prefix="bench-downloads-"))
    procs: list[Process] = []
    redis = start_local_redis(root / "redis", port=None)
    try:
        base_env = {
            **os.environ,
            **KEYS,
            "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.local",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": LOOPBACK,
            "REDIS_URL": redis.url,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        }
        backends = ["local"]
        if not opts.no_s3:
            port = free_port()
            procs.append(Process("moto", [str(Path(sys.executable).parent / "moto_server"),
                                          "-H", LOOPBACK, "-p", str(port)], base_env,
                                 root / "moto.log"))  # fmt: skip
            endpoint = f"http://{LOOPBACK}:{port}"
            wait_until(lambda: requests.get(endpoint, timeout=5).ok, timeout=120, what="moto")
            boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            ).create_bucket(Bucket=BUCKET)
            base_env.update(AWS_STORAGE_BUCKET_NAME=BUCKET, AWS_S3_ENDPOINT_URL=endpoint)
            backends.append("s3")
        from bench.bench_scoring import code_at

        before = code_at(opts.before, root / "before") if opts.before else None
        source = root / "source.bin"
        digest = random_file(source, opts.size_mb * MIB)
        instances = [
            start_instance(backend, root, base_env, source, digest, procs, before)
            for backend in backends
        ]
        source.unlink()
        print(
            f"Downloads: a {opts.size_mb} MiB task file, whole then its resumed second half, "
            f"{opts.repeat} times per backend ({', '.join(backends)}); gunicorn as the Procfile; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        scratch = root / "scratch"
        scratch.mkdir()
        for inst in instances:
            check_bytes(inst, scratch)  # also warms the page cache
            for _ in range(opts.repeat):
                measure_floor(inst)
                measure_download_floor(inst)
                measure_ours(inst)
        report(instances, opts.size_mb)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        for proc in reversed(procs):
            proc.stop()
        redis.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s in all)")
    sys.exit(code)
