"""The hosts of ``scripts/multihost.sh``: the layout, the cluster of network-namespace hosts
and the services started on them (PostgreSQL, Redis, moto's S3, HAProxy, and the platform's
processes through ``docker/entrypoint.sh``: on each web host ``web`` and the board server
``boards``, the two scoring hosts' ``worker``, ``baselines``, ``algorithms`` and ``renders``
on the jobs host, ``beat``). The scenario, faults and verdict are ``bench/multihost.py``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.load_test import wait_until

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINT = str(REPO / "docker" / "entrypoint.sh")
VENV_BIN = Path(sys.executable).parent  # not resolved: the virtual environment's bin/

SUBNET = "10.213.7"  # a /24 that exists only inside this run's namespaces
HOSTS = {
    "db": 10,
    "redis": 11,
    "s3": 12,
    "lb": 20,
    "web1": 21,
    "web2": 22,
    "worker1": 31,
    "worker2": 32,
    "jobs": 41,
    "beat": 51,
    "client": 100,
}
WEB_PORT = 8000
BOARDS_PORT = 8001  # the Procfile's boards process (BOARDS_BIND), beside web on a web host
WEB_HOSTS = ("web1", "web2")
# The Celery workers started, (host, Procfile process): each must say it is ready.
WORKERS = (
    ("worker1", "worker"),
    ("worker2", "worker"),
    ("jobs", "baselines"),
    ("jobs", "algorithms"),
    ("jobs", "renders"),
)
BUCKET = "challenge"
S3_KEY = "multihost"  # moto accepts any key pair; the variables are the deployment's
TEAMS = 20
SANDBOX_HOSTS = ("jobs",)  # the host of the algorithms and baselines workers
CGROUP_MOUNTS = (
    "mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup && for c in pids memory cpu cpuacct;"
    " do mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c; done"
)


def addr(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


# --- hosts and processes ----------------------------------------------------------------------


@dataclass
class Cluster:
    """This run's hosts: namespace ``<prefix><host>``, folder ``<run_dir>/<host>``."""

    prefix: str
    run_dir: Path
    sweep_stale: int
    worker_lost_after: float | None = None  # None: the platform's default
    # Variables every host gets beside the deployment's (e.g. the mail server's address).
    extra_env: dict[str, str] = field(default_factory=dict)
    # Hosts whose DATA_DIR is a filesystem of the run's own, size in MiB (a tmpfs mounted by
    # mount_data_folders, in the driver's mount namespace only: never the machine's disk).
    data_tmpfs: dict[str, int] = field(default_factory=dict)
    started: dict[tuple[str, str], subprocess.Popen] = field(default_factory=dict)
    # How each was started (its command and environment): restart() starts it the same way.
    commands: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(60))
    db_password: str = field(default_factory=lambda: secrets.token_hex(16))

    def ns(self, host: str) -> str:
        return f"{self.prefix}{host}"

    def dir(self, host: str) -> Path:
        folder = self.run_dir / host
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        (folder / "logs").mkdir(exist_ok=True)
        return folder

    def log(self, host: str, name: str) -> Path:
        return self.dir(host) / "logs" / f"{name}.log"

    def data_dir(self, host: str) -> Path:
        """The host's ``DATA_DIR``: its folder, or the tmpfs mounted in it (``data_tmpfs``)."""
        if host in self.data_tmpfs:
            return self.dir(host) / "data"
        return self.dir(host)

    def mount_data_folders(self) -> None:
        """Mount each ``data_tmpfs`` host's DATA_DIR as a small tmpfs of its own. The driver
        runs in a mount namespace of its own (``ip netns exec`` makes one), so the mounts
        exist only there and in the hosts started after them, and vanish with them."""
        for host, size_mb in self.data_tmpfs.items():
            folder = self.data_dir(host)
            folder.mkdir(exist_ok=True)
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(folder)],
                check=True,
            )
            (folder / "tmp").mkdir(exist_ok=True)

    def wrap(self, host: str) -> list[str]:
        """Run in ``host``'s network namespace under its own host name (its own UTS
        namespace: Celery names a worker after the host, as on real machines). On the host
        of the sandboxed runs the cgroup hierarchies are mounted again: ``ip netns exec``
        mounts a fresh /sys without them, and a root worker's sandbox needs its pids and
        memory cgroups (a real host has them)."""
        setup = 'hostname "$0"'
        if host in SANDBOX_HOSTS:
            setup += " && " + CGROUP_MOUNTS
        return [
            "ip",
            "netns",
            "exec",
            self.ns(host),
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            setup + ' && exec "$@"',
            f"mh-{host}",
        ]

    @property
    def database_url(self) -> str:
        login = f"postgres:{self.db_password}"  # a random password made for this run
        return f"postgres://{login}@{addr('db')}:5432/challenge"

    def env(self, host: str, **extra: str) -> dict[str, str]:
        """A host's environment: the deployment's variables only (nothing inherited but the
        locale), as a container gets them."""
        folder = self.data_dir(host)
        env = {
            "PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": str(folder),
            "TMPDIR": str(folder / "tmp"),
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.production",
            "SECRET_KEY": self.secret,
            "ALLOWED_HOSTS": ",".join(addr(h) for h in ("lb", "web1", "web2")),
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP inside the run; TLS ends at the balancer
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://{addr('redis')}:6379/0",
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": f"http://{addr('s3')}:5000",
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",  # never look for an instance metadata service
            "DATA_DIR": str(folder),
            "SWEEPER_STALE_AFTER_SECONDS": str(self.sweep_stale),
            "LOG_LEVEL": "INFO",
        }
        if self.worker_lost_after is not None:
            env["WORKER_LOST_AFTER_SECONDS"] = str(self.worker_lost_after)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def start(self, host: str, name: str, command: list[str], env: dict[str, str]) -> None:
        self.commands[(host, name)] = (command, env)
        log = open(self.log(host, name), "ab")  # noqa: SIM115 - owned by the child
        self.started[(host, name)] = subprocess.Popen(
            [*self.wrap(host), *command],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def restart(self, host: str, name: str) -> None:
        """Start ``name`` on ``host`` again as it was started (its process has ended)."""
        self.start(host, name, *self.commands[(host, name)])

    def run(
        self, host: str, command: list[str], env: dict[str, str] | None = None, timeout=300
    ) -> str:
        result = subprocess.run(
            [*self.wrap(host), *command],
            env=env or self.env(host),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise SystemExit(
                f"on {host}: {' '.join(command[:3])} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def pids(self, host: str) -> list[int]:
        out = subprocess.run(
            ["ip", "netns", "pids", self.ns(host)], capture_output=True, text=True, check=True
        ).stdout
        return [int(p) for p in out.split()]

    def signal_host(self, host: str, sig: int) -> int:
        """Send ``sig`` to every process of ``host``; how many there were."""
        pids = self.pids(host)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return len(pids)


def port_open(host: str, port: int) -> bool:
    with socket.create_connection((addr(host), port), timeout=2):
        return True


def http(session: requests.Session | None = None) -> requests.Session:
    session = session or requests.Session()
    session.trust_env = False  # no proxy variables: traffic stays on this run's subnet
    return session


# --- the services -------------------------------------------------------------------------------


def postgres_bin() -> Path:
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    return bins[-1]


def start_postgres(c: Cluster) -> None:
    folder = c.dir("db")
    data = folder / "data"
    pwfile = folder / "pwfile"
    pwfile.write_text(c.db_password + "\n", encoding="utf-8")
    subprocess.run(["chown", "-R", "postgres:postgres", str(folder)], check=True)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    bin_dir = postgres_bin()
    c.run(
        "db",
        [
            *as_postgres,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        ],
        env=c.env("db"),
    )
    with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:
        hba.write(f"host all all {SUBNET}.0/24 scram-sha-256\n")
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            f"listen_addresses = '{addr('db')}'\nport = 5432\n"
            f"unix_socket_directories = '{folder}'\nmax_connections = 200\n"
        )
    pg_ctl(c, "start")
    c.run(
        "db",
        [*as_postgres, str(bin_dir / "createdb"), "-h", str(folder), "challenge"],
        env=c.env("db"),
    )


def pg_ctl(c: Cluster, action: str, *options: str) -> None:
    folder = c.dir("db")
    c.run(
        "db",
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(postgres_bin() / "pg_ctl"),
            "-D",
            str(folder / "data"),
            "-l",
            str(folder / "logs" / "postgres.log"),
            "-w",
            "-t",
            "120",
            *options,
            action,
        ],
        env=c.env("db"),
        timeout=180,
    )


def start_redis(c: Cluster) -> None:
    """The broker, with its append-only file (compose's), in its host's folder."""
    c.start(
        "redis",
        "redis",
        [
            "redis-server",
            "--bind",
            addr("redis"),
            "--port",
            "6379",
            "--protected-mode",
            "no",
            "--dir",
            str(c.dir("redis")),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        c.env("redis"),
    )


def start_web_host(c: Cluster, host: str, *, web_concurrency: int) -> None:
    """A web host's two processes: ``web`` (gunicorn) and the board server ``boards``."""
    env = c.env(
        host,
        MIGRATE_ON_START="0",
        WEB_BIND=f"{addr(host)}:{WEB_PORT}",
        WEB_CONCURRENCY=str(web_concurrency),
        BOARDS_BIND=f"{addr(host)}:{BOARDS_PORT}",
    )
    c.start(host, "web", [ENTRYPOINT, "web"], env)
    c.start(host, "boards", [ENTRYPOINT, "boards"], env)


def start_worker(c: Cluster, host: str, name: str) -> None:
    """One Celery worker of the Procfile (``worker``, ``baselines``, ``algorithms``,
    ``renders``) on ``host``."""
    c.start(host, name, [ENTRYPOINT, name], c.env(host, WORKER_CONCURRENCY="2"))


def start_beat(c: Cluster) -> None:
    schedule = str(c.dir("beat") / "celerybeat-schedule")
    c.start("beat", "beat", [ENTRYPOINT, "beat"], c.env("beat", CELERY_BEAT_SCHEDULE=schedule))


def start_services(c: Cluster, *, web_concurrency: int) -> None:
    c.mount_data_folders()
    start_postgres(c)
    start_redis(c)
    c.start(
        "s3",
        "moto",
        [str(VENV_BIN / "moto_server"), "-H", addr("s3"), "-p", "5000"],
        c.env("s3"),
    )
    wait_until(lambda: port_open("redis", 6379), timeout=60, what="Redis")
    wait_until(lambda: port_open("s3", 5000), timeout=120, what="the S3 server")
    # The bucket, as compose's createbucket does (from the first web host).
    c.run(
        "web1",
        [
            sys.executable,
            "-c",
            "import os, boto3; boto3.client('s3', endpoint_url=os.environ['AWS_S3_ENDPOINT_URL'],"
            " region_name='us-east-1').create_bucket(Bucket=os.environ['AWS_STORAGE_BUCKET_NAME'])",
        ],
    )
    # One deploy, one migration.
    c.run("web1", [ENTRYPOINT, "migrate"], timeout=600)
    # The balancer's configuration is the platform's own (manage.py haproxy_config,
    # leaderboard/cache/proxy.py: round robin, health checks, the public boards' cache, the board
    # servers for the anonymous reads it cannot answer), as the manual's multi-host
    # deployment gives it. Connection errors of real requests mark a server down at once (a
    # stopped host), not only after three failed checks.
    command = [sys.executable, "manage.py", "haproxy_config", "--bind", f"{addr('lb')}:80"]
    for host in WEB_HOSTS:
        command += ["--server", f"{host}={addr(host)}:{WEB_PORT}"]
    for n, host in enumerate(WEB_HOSTS, start=1):
        command += ["--boards-server", f"boards{n}={addr(host)}:{BOARDS_PORT}"]
    command += ["--per-server", str(web_concurrency), "--health-host", addr("lb")]
    command += ["--server-options", "observe layer4 error-limit 1 on-error mark-down"]
    cfg = c.dir("lb") / "haproxy.cfg"
    cfg.write_text(c.run("web1", command), encoding="utf-8")
    c.start("lb", "haproxy", ["haproxy", "-db", "-f", str(cfg)], c.env("lb"))
    for host in WEB_HOSTS:
        start_web_host(c, host, web_concurrency=web_concurrency)
    for host, name in WORKERS:
        start_worker(c, host, name)
    start_beat(c)


def wait_ready(c: Cluster) -> None:
    session = http()
    for host in WEB_HOSTS:
        for name, port in (("gunicorn", WEB_PORT), ("the board server", BOARDS_PORT)):
            wait_until(
                lambda host=host, port=port: (
                    session.get(f"http://{addr(host)}:{port}/healthz", timeout=5).status_code == 200
                ),
                timeout=180,
                what=f"{name} on {host}",
            )
    wait_until(
        lambda: session.get(f"http://{addr('lb')}/api/v1/challenges/", timeout=10).ok,
        timeout=60,
        what="HAProxy",
    )
    for host, name in WORKERS:
        wait_until(
            lambda host=host, name=name: " ready." in c.log(host, name).read_text(errors="replace"),
            timeout=180,
            what=f"the {name} worker on {host}",
        )
    wait_until(
        lambda: "beat: Starting" in c.log("beat", "beat").read_text(errors="replace"),
        timeout=120,
        what="beat",
    )
