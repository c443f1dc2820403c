"""The bwrap command line of one run (the bubblewrap backend's module docstring says what the
sandbox holds; this module writes it down).

Everything a run is given that is not a host folder reaches bwrap as a descriptor, never as
program text or a host path: the seccomp filter (``--seccomp``), the launcher, which bwrap
writes into a file of its own and binds read-only at :data:`LAUNCHER_PATH`
(``--ro-bind-data``: the program is ``python /sandbox/launch.py /code/<entrypoint>``, and
no host path of the platform's checkout shows inside), bwrap's status pipe and the pipe it
waits on before it executes the program (``--block-fd``: the worker opens ``/output``
first, :mod:`.outputfs`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from algorithms.sandbox.base import MB, SandboxJob
from common import launch

SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own tmpfs, not the host's
SANDBOX_SHM = "/dev/shm"  # noqa: S108 - likewise
SANDBOX_OUTPUT = "/output"
SANDBOX_MODEL_FILE = "/kept/model.tar"  # SandboxJob.model_file, when the platform hands one
LAUNCHER_PATH = "/sandbox/launch.py"
# The launcher's source (common/launch.py says why every program starts there).
LAUNCHER = Path(launch.__file__).read_bytes()
# Packages of the platform: masked inside the runtime when installed there (non-editable).
PLATFORM_PACKAGES = ("challenge_platform", "datasets", "scoring", "leaderboard", "algorithms")


# /dev: the devices a program uses, and no devpts (bwrap's --dev mounts one, and for it maps
# the sandbox's user through a second user namespace: /proc/self/uid_map inside would then
# show that namespace's uid, not the host's). No terminal: the sandbox is a new session.
DEV = ["--size", str(1 * MB), "--tmpfs", "/dev"]
for _device in ("null", "zero", "full", "random", "urandom", "tty"):
    DEV += ["--dev-bind", f"/dev/{_device}", f"/dev/{_device}"]
for _name, _target in (("fd", ""), ("stdin", "/0"), ("stdout", "/1"), ("stderr", "/2")):
    DEV += ["--symlink", f"/proc/self/fd{_target}", f"/dev/{_name}"]


# The host's figures in /proc, which a run's fresh /proc of its own pid namespace still
# shows (issue 66: two runs read each other's load through them): files masked by /dev/null
# (read empty), folders by an empty tmpfs, the load average replaced by the sandbox's own (nothing
# else runs in its namespace). What Python, pandas and AutoGluon read stays: cpuinfo, stat,
# meminfo (and the cgroup's limits, which the runtime reads from its own cgroup).
PROC_FILES_MASKED = ("kallsyms", "iomem", "config.gz", "kcore", "timer_list", "sched_debug")
PROC_FOLDERS_MASKED = ("pressure",)
LOADAVG = b"0.00 0.00 0.00 1/1 1\n"
# The program's own mount table (it is pid 1: ``/proc/self`` is ``/proc/1`` when bwrap
# mounts, and stays the program's): the sandbox's mount points only, with no host path (a
# bind's "root" field is its source's path on the host, which bwrap cannot change).
MOUNTINFO = (
    b"1 0 0:1 / / ro,nosuid,nodev - tmpfs sandbox ro\n"
    b"2 1 0:2 / /proc rw,nosuid,nodev,noexec - proc proc rw\n"
    b"3 1 0:3 / /dev ro,nosuid - tmpfs sandbox ro\n"
    b"4 3 0:4 / /dev/shm rw,nosuid,nodev - tmpfs sandbox rw\n"
    b"5 1 0:5 / /tmp rw,nosuid,nodev - tmpfs sandbox rw\n"
    b"6 1 0:6 / /code ro,nosuid,nodev - none code ro\n"
    b"7 1 0:7 / /task ro,nosuid,nodev - none task ro\n"
    b"8 1 0:8 / /output rw,nosuid,nodev - tmpfs sandbox rw\n"
)
MOUNTS = (
    b"sandbox / tmpfs ro,nosuid,nodev 0 0\n"
    b"proc /proc proc rw,nosuid,nodev,noexec 0 0\n"
    b"sandbox /dev tmpfs ro,nosuid 0 0\n"
    b"sandbox /dev/shm tmpfs rw,nosuid,nodev 0 0\n"
    b"sandbox /tmp tmpfs rw,nosuid,nodev 0 0\n"
    b"code /code none ro,nosuid,nodev 0 0\n"
    b"task /task none ro,nosuid,nodev 0 0\n"
    b"sandbox /output tmpfs rw,nosuid,nodev 0 0\n"
)


@dataclass(frozen=True)
class Descriptors:
    """The descriptors bwrap reads (each None in a command built only to be looked at)."""

    status: int | None = None
    block: int | None = None
    seccomp: int | None = None
    launcher: int | None = None
    # The replacements of /proc/loadavg and of the program's mountinfo and mounts.
    loadavg: int | None = None
    mountinfo: int | None = None
    mounts: int | None = None


def proc_masks(fds: Descriptors) -> list[str]:
    """bwrap's arguments that hide the host's figures and paths in the run's ``/proc``
    (after ``--proc /proc``): only what exists on this host (bwrap cannot make a file in
    proc)."""
    proc = Path("/proc")
    args: list[str] = []
    for name in PROC_FILES_MASKED:
        if (proc / name).exists():
            # The device itself (a bind without nodev), as /dev/null is bound in /dev: a
            # plain bind of it would refuse every read (a device on a nodev mount).
            args += ["--dev-bind", "/dev/null", f"/proc/{name}"]
    for name in PROC_FOLDERS_MASKED:
        if (proc / name).is_dir():
            args += ["--size", str(1 * MB), "--tmpfs", f"/proc/{name}"]
    for fd, path in (
        (fds.loadavg, "/proc/loadavg"),
        (fds.mountinfo, "/proc/self/mountinfo"),
        (fds.mounts, "/proc/self/mounts"),
    ):
        if fd is not None:
            args += ["--perms", "0444", "--ro-bind-data", str(fd), path]
    return args


def proc_files() -> dict[str, bytes]:
    """The contents of the descriptors :func:`proc_masks` binds, by field of
    :class:`Descriptors`."""
    return {"loadavg": LOADAVG, "mountinfo": MOUNTINFO, "mounts": MOUNTS}


def runtime_paths() -> list[Path]:
    """The interpreter's own folders: the virtual environment and the base installation."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    executable = Path(sys.executable).resolve()
    if not any(executable.is_relative_to(p) for p in paths):
        paths.add(executable.parent.parent)
    covered = [p for p in sorted(paths) if not p.is_relative_to(Path("/usr"))]
    return [p for p in covered if not any(p != q and p.is_relative_to(q) for q in covered)]


def python() -> str:
    """The venv's interpreter path (its ``pyvenv.cfg`` makes the venv's packages visible);
    outside a venv, this interpreter (a system Python may have no ``bin/python``)."""
    venv = Path(sys.prefix).resolve() / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def masked_packages(runtime: list[Path]) -> list[Path]:
    masked = []
    for name in PLATFORM_PACKAGES:
        module = sys.modules.get(name)
        path = Path(getattr(module, "__file__", "") or "").parent if module else None
        if path and path.is_dir() and any(path.is_relative_to(r) for r in runtime):
            masked.append(path)
    return masked


def environment() -> dict[str, str]:
    """The sandbox's own environment (a job's ``environment`` never replaces it)."""
    return {
        "TASK_DIR": "/task",
        "OUTPUT_DIR": SANDBOX_OUTPUT,
        "PATH": f"{Path(python()).parent}:/usr/bin:/bin",
        "HOME": SANDBOX_TMP,
        "LANG": "C.UTF-8",
        "MPLCONFIGDIR": SANDBOX_TMP,
        # A crash prints every thread's Python stack into the run's log.
        "PYTHONFAULTHANDLER": "1",
    }


def bwrap_command(
    bwrap: str,
    job: SandboxJob,
    fds: Descriptors,
    source: Callable[[Path], str] = str,
) -> list[str]:
    """The command line; ``source(path)`` is the path bwrap binds a host folder from (the
    folder itself, or where :class:`~.hostuser.Staging` shows it)."""
    limits = job.limits
    runtime = runtime_paths()
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--as-pid-1",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--clearenv",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in ("lib", "lib64", "lib32", "bin", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    if Path("/etc/ld.so.cache").exists():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--proc", "/proc", *proc_masks(fds), *DEV]
    args += ["--size", str(limits.tmp_mb * MB), "--tmpfs", SANDBOX_SHM, "--remount-ro", "/dev"]
    args += ["--size", str(limits.tmp_mb * MB), "--tmpfs", SANDBOX_TMP]
    # The runtime is bound after the /tmp tmpfs: a checkout (and its .venv) may live
    # under the host's /tmp, and mounting the tmpfs later would hide it.
    for path in runtime:
        args += ["--ro-bind", source(path), str(path)]
    for path in masked_packages(runtime):
        args += ["--tmpfs", str(path)]
    args += [
        "--ro-bind",
        source(job.code_dir.resolve()),
        "/code",
        "--ro-bind",
        source(job.task_dir.resolve()),
        "/task",
        "--size",
        str(limits.output_mb * MB),
        "--tmpfs",
        SANDBOX_OUTPUT,
    ]
    if job.model_file is not None:
        args += ["--ro-bind", source(job.model_file.resolve()), SANDBOX_MODEL_FILE]
    if fds.launcher is not None:
        args += ["--perms", "0444", "--ro-bind-data", str(fds.launcher), LAUNCHER_PATH]
    args += ["--remount-ro", "/", "--chdir", SANDBOX_TMP]
    if fds.status is not None:
        args += ["--json-status-fd", str(fds.status)]
    if fds.block is not None:
        args += ["--block-fd", str(fds.block)]
    if fds.seccomp is not None:
        args += ["--seccomp", str(fds.seccomp)]
    for key, value in {**job.environment, **environment()}.items():
        args += ["--setenv", key, value]
    args += ["--", python(), "-B", "-s", LAUNCHER_PATH, f"/code/{job.entrypoint}"]
    return args


def memory_file(name: str, data: bytes) -> int:
    """A descriptor of an anonymous file holding ``data``, at its start, for bwrap to read."""
    fd = os.memfd_create(name, 0)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd
