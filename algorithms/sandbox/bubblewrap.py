"""The bubblewrap backend: deny by default, then read-only binds of exactly what a run needs.

Inside, the algorithm sees an empty root with:

- ``/usr`` (and the ``/lib``, ``/lib64``, ``/bin`` links of a merged-/usr system): system
  libraries, read-only; the platform's Python runtime (its virtual environment and the base
  interpreter it points to) read-only at their own paths, with the platform's own packages
  masked when they are installed there;
- the root itself read-only (bwrap's root tmpfs, remounted), and
  ``/code`` (the archive, read-only), ``/task`` (read-only), ``/output`` (writable),
  ``/tmp`` (a tmpfs of ``tmp_mb``), a fresh ``/proc`` of its own pid namespace, a minimal
  read-only ``/dev`` whose ``/dev/shm`` is another tmpfs of ``tmp_mb`` (for
  multiprocessing);
- no network (its own empty network namespace: only a loopback of its own), no IPC, no
  view of other processes, a new session (no terminal), no capabilities, no user namespaces
  of its own, and an environment of exactly ``TASK_DIR``, ``OUTPUT_DIR``, ``PATH``,
  ``HOME``, ``LANG``, ``MPLCONFIGDIR``, ``PYTHONFAULTHANDLER`` (plus the job's own
  ``environment``, set by the platform for its built-in baseline, never by an archive).
  bwrap itself is started with the same small environment.

The entrypoint runs under :mod:`common.launch` (the interpreter's ``-c`` program): as ``python
main.py`` would run it, but the process ends with ``os._exit`` once the program's threads,
``atexit`` functions and streams are done, skipping an interpreter teardown in which
pyarrow's threads could make an honest run abort.

**The program is pid 1 of its namespace** (``--as-pid-1``): there is no bwrap init inside
for the algorithm to stop or kill (it shares the algorithm's uid, so a child could
``ptrace`` it and hold a finished run until the wall clock). When the program exits, the
kernel kills everything else in the namespace, and bwrap's outer monitor, on the host side
and out of reach, writes the program's own exit status to ``--json-status-fd``: the status
the platform reports is the program's, never inferred from timing. (As any pid 1, the
program ignores signals it sends itself without a handler, and reaps no orphans: a zombie
counts against the process limit until the run ends.)

**One budget for the whole process tree** (:mod:`.cgroups`, chosen at run time): with a
writable memory cgroup, ``memory_mb`` bounds resident memory plus the tmpfs pages of
``/tmp``, ``/dev/shm`` and ``/output`` (an OOM kill stops the run naming the memory limit);
a pids cgroup caps processes and threads; the cgroup's CPU time bounds ``cpu_seconds`` for
all processes together; ``cpus`` sets a CPU quota. Where a controller is missing the
rlimits stay: ``RLIMIT_AS`` per process, ``RLIMIT_NPROC``, ``RLIMIT_CPU`` per process plus
the sampled sum over the tree. ``RLIMIT_NPROC`` does not bind a process whose host uid is
root, so a root worker refuses to run without a pids cgroup. ``RLIMIT_FSIZE`` caps each file
and ``RLIMIT_CORE`` is 0 everywhere.

**Disk** (:mod:`.outputfs`): where the worker may mount, ``/output`` is a tmpfs of
``output_mb`` on the run's host folder (blocks counted by the kernel, ``fallocate``
included), copied out and freed when the run ends; elsewhere it is the host folder, summed
(sizes and allocated blocks) by a watcher thread every 20 ms that kills the run past
``output_mb``. A wall-clock deadline, the log cap and a cancel kill the whole run (its
process group, and every process of its cgroup). stdout and stderr go through a pipe,
never to disk: the last 64 KB are kept and the run is killed past ``log_mb``. Peak memory
is the largest of the kernel's maximum resident set, the sampled resident sum over the
process tree and the cgroup's anonymous plus tmpfs memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from algorithms.sandbox import seccomp
from algorithms.sandbox.base import (
    MB,
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)
from algorithms.sandbox.cgroups import (
    CPU,
    CPUACCT,
    MEMORY,
    PIDS,
    CgroupHost,
    RunCgroup,
    host_cgroups,
)
from algorithms.sandbox.outcome import Observed, infer_limit, message
from algorithms.sandbox.outputfs import OutputTmpfs, usage
from algorithms.sandbox.watch import LogReader, OutputWatch, sample_tree
from common import launch

POLL_SECONDS = 0.2
SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own tmpfs, not the host's
SANDBOX_SHM = "/dev/shm"  # noqa: S108 - likewise
STOP_POLL_SECONDS = 1.0
# The interpreter's ``-c`` program that runs the entrypoint (common/launch.py says why).
LAUNCHER = Path(launch.__file__).read_text(encoding="utf-8")
# Packages of the platform: masked inside the runtime when installed there (non-editable).
PLATFORM_PACKAGES = ("challenge_platform", "datasets", "scoring", "leaderboard", "algorithms")


def _runtime_paths() -> list[Path]:
    """The interpreter's own folders: the virtual environment and the base installation."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    executable = Path(sys.executable).resolve()
    if not any(executable.is_relative_to(p) for p in paths):
        paths.add(executable.parent.parent)
    covered = [p for p in sorted(paths) if not p.is_relative_to(Path("/usr"))]
    return [p for p in covered if not any(p != q and p.is_relative_to(q) for q in covered)]


def _python() -> str:
    """The venv's interpreter path (its ``pyvenv.cfg`` makes the venv's packages visible);
    outside a venv, this interpreter (a system Python may have no ``bin/python``)."""
    venv = Path(sys.prefix).resolve() / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _masked_packages(runtime: list[Path]) -> list[Path]:
    masked = []
    for name in PLATFORM_PACKAGES:
        module = sys.modules.get(name)
        path = Path(getattr(module, "__file__", "") or "").parent if module else None
        if path and path.is_dir() and any(path.is_relative_to(r) for r in runtime):
            masked.append(path)
    return masked


class BubblewrapBackend(SandboxBackend):
    name = "bubblewrap"

    def __init__(
        self,
        bwrap: str | None = None,
        *,
        cgroups: Callable[[], CgroupHost | None] = host_cgroups,
        mount_output: bool = True,
    ) -> None:
        """``cgroups`` finds the host's cgroup layout for each run (None: rlimits only);
        ``mount_output`` lets a worker that may mount give ``/output`` a tmpfs of its own."""
        self.bwrap = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"
        self.cgroups = cgroups
        self.mount_output = mount_output

    # --- checks and command line ----------------------------------------------------------

    def check(self) -> None:
        if not Path(self.bwrap).exists():
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
            )
        probe = subprocess.run(
            [self.bwrap, "--unshare-all", "--ro-bind", "/", "/", "true"],
            capture_output=True,
            env={"PATH": "/usr/bin:/bin"},
            timeout=30,
            check=False,
        )
        if probe.returncode != 0:
            reason = probe.stderr.decode(errors="replace").strip()
            raise SandboxUnavailable(
                f"bubblewrap cannot create namespaces here ({reason}); the worker needs "
                "unprivileged user namespaces (kernel.unprivileged_userns_clone=1)"
            )

    def command(
        self, job: SandboxJob, *, status_fd: int | None = None, seccomp_fd: int | None = None
    ) -> list[str]:
        """The bwrap command line for ``job`` (see the module docstring); bwrap writes the
        program's exit status as JSON lines to ``status_fd`` and loads the seccomp filter
        (:mod:`.seccomp`) from ``seccomp_fd``."""
        limits = job.limits
        runtime = _runtime_paths()
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
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
        args += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(limits.tmp_mb * MB),
            "--tmpfs",
            SANDBOX_SHM,
            "--remount-ro",
            "/dev",
            "--size",
            str(limits.tmp_mb * MB),
            "--tmpfs",
            SANDBOX_TMP,
        ]
        # The runtime is bound after the /tmp tmpfs: a checkout (and its .venv) may live
        # under the host's /tmp, and mounting the tmpfs later would hide it.
        for path in runtime:
            args += ["--ro-bind", str(path), str(path)]
        for path in _masked_packages(runtime):
            args += ["--tmpfs", str(path)]
        args += [
            "--ro-bind",
            str(job.code_dir.resolve()),
            "/code",
            "--ro-bind",
            str(job.task_dir.resolve()),
            "/task",
            "--bind",
            str(job.output_dir.resolve()),
            "/output",
            "--remount-ro",
            "/",
            "--chdir",
            SANDBOX_TMP,
        ]
        if status_fd is not None:
            args += ["--json-status-fd", str(status_fd)]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        environment = {**job.environment, **self.environment()}
        for key, value in environment.items():
            args += ["--setenv", key, value]
        args += ["--", _python(), "-B", "-s", "-c", LAUNCHER, f"/code/{job.entrypoint}"]
        return args

    @staticmethod
    def environment() -> dict[str, str]:
        return {
            "TASK_DIR": "/task",
            "OUTPUT_DIR": "/output",
            "PATH": f"{Path(_python()).parent}:/usr/bin:/bin",
            "HOME": SANDBOX_TMP,
            "LANG": "C.UTF-8",
            "MPLCONFIGDIR": SANDBOX_TMP,
            # A crash prints every thread's Python stack into the run's log.
            "PYTHONFAULTHANDLER": "1",
        }

    # --- running --------------------------------------------------------------------------

    def run(
        self, job: SandboxJob, *, should_stop: Callable[[], bool] | None = None
    ) -> SandboxResult:
        limits = job.limits
        job.output_dir.mkdir(parents=True, exist_ok=True)
        cgroup = self._cgroup(limits)
        output_fs = None
        try:
            if self.mount_output:
                output_fs = OutputTmpfs.mount(job.output_dir, limits.output_mb * MB)
            return self._run(job, should_stop, cgroup, output_fs)
        finally:
            if output_fs is not None:
                output_fs.discard()  # a no-op once released
            if cgroup is not None:
                cgroup.remove()

    def _cgroup(self, limits: SandboxLimits) -> RunCgroup | None:
        host = self.cgroups()
        cgroup = None
        if host is not None:
            cgroup = RunCgroup(
                host,
                memory_bytes=limits.memory_mb * MB,
                processes=limits.processes,
                cpus=limits.cpus,
            )
            if not cgroup.folders:
                cgroup = None
        if os.geteuid() == 0 and (cgroup is None or PIDS not in cgroup.controllers):
            if cgroup is not None:
                cgroup.remove()
            raise SandboxUnavailable(
                "the worker runs as root, where RLIMIT_NPROC does not bind, and no writable "
                "pids cgroup was found: run the algorithms worker as a non-root user"
            )
        return cgroup

    def _run(
        self,
        job: SandboxJob,
        should_stop: Callable[[], bool] | None,
        cgroup: RunCgroup | None,
        output_fs: OutputTmpfs | None,
    ) -> SandboxResult:
        limits = job.limits
        covered = cgroup.controllers if cgroup is not None else set()
        read_fd, write_fd = os.pipe()
        status_read, status_write = os.pipe()
        # A host folder as /output: fallocate would outrun the watcher (see .seccomp).
        filter_fd = _seccomp_fd() if output_fs is None else None
        passed = tuple(fd for fd in (status_write, filter_fd) if fd is not None)

        def limit_child() -> None:  # in the child, before exec
            if cgroup is not None:
                cgroup.join()
            cpu = limits.cpu_seconds  # per process; the tree's total is watched
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            if MEMORY not in covered:
                memory = limits.memory_mb * MB
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            size = max(limits.output_mb, limits.tmp_mb) * MB  # per file; totals watched
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        started = time.monotonic()
        try:
            process = subprocess.Popen(
                self.command(job, status_fd=status_write, seccomp_fd=filter_fd),
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                env={"PATH": "/usr/bin:/bin"},
                close_fds=True,
                pass_fds=passed,
                start_new_session=True,
                preexec_fn=limit_child,
            )
        except BaseException:
            for fd in (read_fd, write_fd, status_read, *passed):
                os.close(fd)
            raise
        os.close(write_fd)
        for fd in passed:
            os.close(fd)
        reader = LogReader(read_fd, limits.log_mb * MB)
        reader.start()
        kill = lambda: self._kill(process, cgroup)  # noqa: E731
        output_watch = OutputWatch(job.output_dir, limits.output_mb * MB, kill)
        output_watch.start()
        sampled_cpu: dict[int, float] = {}
        try:
            try:
                hit, cancelled, peak = self._watch(
                    process, job, reader, should_stop, started, sampled_cpu, cgroup, output_watch
                )
            except BaseException:  # e.g. the worker's soft time limit: leave nothing behind
                output_watch.done.set()
                kill()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(process.pid, 0)
                raise
            output_watch.done.set()  # before the reap: it never signals a reused pid
            output_watch.join(timeout=5)
            _, wait_status, rusage = os.wait4(process.pid, 0)
        finally:
            output_watch.done.set()
            reader.join(timeout=5)
            status = _json_status(status_read)
        seconds = time.monotonic() - started
        tree_cpu = cgroup.cpu_seconds() if cgroup is not None else None
        cpu = max(rusage.ru_utime + rusage.ru_stime, sum(sampled_cpu.values()), tree_cpu or 0.0)
        peak = max(peak, rusage.ru_maxrss * 1024)
        # The program's own status, from bwrap's monitor; bwrap's when it never got there.
        started_program = "exit-code" in status
        code = (
            int(status["exit-code"]) if started_program else os.waitstatus_to_exitcode(wait_status)
        )
        process.returncode = code
        log = reader.text()
        seen = Observed(
            code=code,
            cpu=cpu,
            log=log,
            output_bytes=usage(job.output_dir),
            oom_killed=cgroup is not None and cgroup.oom_kills() > 0,
            processes_hit=cgroup is not None and cgroup.processes_hit(),
        )
        if hit is None and reader.over.is_set():  # it ended between two polls
            hit = "log_mb"
        if hit is None and seen.output_bytes > limits.output_mb * MB:  # likewise
            hit = "output_mb"
        if output_fs is not None and output_fs.release(limits.output_mb * MB):
            hit = hit or "output_mb"  # sparse sizes past the cap: not all of it was kept
        hit = hit or infer_limit(limits, seen)
        if hit is None and not cancelled and not started_program:
            last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
            raise SandboxUnavailable(f"bubblewrap did not run the algorithm: {last[:300]}")
        return SandboxResult(
            ok=code == 0 and hit is None and not cancelled,
            exit_code=code,
            limit_hit=hit,
            message=message(limits, code=code, hit=hit, cancelled=cancelled, log=log),
            seconds=round(seconds, 3),
            cpu_seconds=round(cpu, 3),
            peak_memory_mb=round(peak / MB, 1),
            log_tail=log,
            log_bytes=reader.total,
            cancelled=cancelled,
            pid=process.pid,
            enforcement=enforcement(limits, cgroup, output_fs is not None),
        )

    def _watch(
        self,
        process: subprocess.Popen,
        job: SandboxJob,
        reader: LogReader,
        should_stop: Callable[[], bool] | None,
        started: float,
        cpu: dict[int, float],
        cgroup: RunCgroup | None,
        output_watch: OutputWatch,
    ) -> tuple[str | None, bool, int]:
        """Poll until the process ends or must be killed; return (limit hit, cancelled,
        peak sampled bytes)."""
        limits = job.limits
        deadline = started + limits.wall_seconds
        peak = 0
        next_stop_check = started + STOP_POLL_SECONDS
        exited = _ExitSignal(process.pid)
        try:
            while True:
                try:
                    info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
                except ChildProcessError:
                    info = True
                if info is not None:  # ended (or killed by the output watcher)
                    return ("output_mb" if output_watch.over.is_set() else None), False, peak
                now = time.monotonic()
                peak = max(peak, sample_tree(process.pid, cpu))
                hit = self._limit_hit(limits, now, deadline, reader, cpu, cgroup)
                if cgroup is not None:
                    peak = max(peak, cgroup.memory_bytes())
                if hit is not None:
                    self._kill(process, cgroup)
                    return hit, False, peak
                if output_watch.over.is_set():
                    return "output_mb", False, peak
                if should_stop is not None and now >= next_stop_check:
                    next_stop_check = now + STOP_POLL_SECONDS
                    if should_stop():
                        self._kill(process, cgroup)
                        return None, True, peak
                exited.wait(POLL_SECONDS)
        finally:
            exited.close()

    @staticmethod
    def _limit_hit(
        limits: SandboxLimits,
        now: float,
        deadline: float,
        reader: LogReader,
        cpu: dict[int, float],
        cgroup: RunCgroup | None,
    ) -> str | None:
        """The limit the live run is over, if any (checked about five times a second)."""
        if cgroup is not None and cgroup.oom_kills():
            return "memory_mb"
        if cgroup is not None and cgroup.processes_hit():
            return "processes"
        if now >= deadline:
            return "wall_seconds"
        if reader.over.is_set():
            return "log_mb"
        tree_cpu = cgroup.cpu_seconds() if cgroup is not None else None
        if (tree_cpu if tree_cpu is not None else sum(cpu.values())) > limits.cpu_seconds:
            return "cpu_seconds"
        return None

    @staticmethod
    def _kill(process: subprocess.Popen, cgroup: RunCgroup | None) -> None:
        """Kill the whole run: bwrap's process group (the program dies with its parent,
        ``--die-with-parent``, and with it every process of its pid namespace) and every
        process of its cgroup."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if cgroup is not None:
            cgroup.kill()


def _seccomp_fd() -> int | None:
    """A memory file holding the compiled filter, for bwrap to read (None: no filter for
    this machine)."""
    compiled = seccomp.program()
    if compiled is None:
        return None
    fd = os.memfd_create("sandbox-seccomp", 0)
    os.write(fd, compiled)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class _ExitSignal:
    """Sleeps until a child process exits or the timeout passes (a pidfd, so a run that
    ends is seen at once rather than at the next poll)."""

    def __init__(self, pid: int) -> None:
        try:
            self.fd: int | None = os.pidfd_open(pid)
        except OSError:  # gone already, or a kernel before 5.3
            self.fd = None

    def wait(self, timeout: float) -> None:
        if self.fd is None:
            time.sleep(timeout)
        else:
            select.select([self.fd], [], [], timeout)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _json_status(fd: int) -> dict[str, object]:
    """bwrap's ``--json-status-fd`` lines, merged (``child-pid``, then ``exit-code``)."""
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
            if sum(map(len, chunks)) > 1 << 20:
                break
    except OSError:
        pass
    finally:
        os.close(fd)
    merged: dict[str, object] = {}
    for line in b"".join(chunks).decode(errors="replace").splitlines():
        with contextlib.suppress(ValueError, TypeError):
            merged.update(json.loads(line))
    return merged


def enforcement(
    limits: SandboxLimits, cgroup: RunCgroup | None, output_tmpfs: bool
) -> dict[str, str]:
    """How each limit is enforced on this path (the README's table, per run)."""
    covered = cgroup.controllers if cgroup is not None else set()
    via = f"cgroup v{cgroup.host.version}" if cgroup is not None else ""
    return {
        "memory_mb": (
            f"{via} memory: resident memory + /tmp, /dev/shm, /output pages of the tree"
            if MEMORY in covered
            else "RLIMIT_AS per process (address space); /tmp and /dev/shm capped apart"
        ),
        "processes": f"{via} pids" if PIDS in covered else "RLIMIT_NPROC (the worker's uid)",
        "cpu_seconds": (
            f"{via} CPU time of the tree"
            if CPUACCT in covered
            else "RLIMIT_CPU per process + the sampled sum over the tree"
        ),
        "cpus": (
            f"{via} CPU quota"
            if CPU in covered
            else ("not set" if limits.cpus <= 0 else "not enforced (no cpu controller)")
        ),
        "output_mb": (
            "a tmpfs of its own (blocks, fallocate included)"
            if output_tmpfs
            else "watcher on sizes and allocated blocks, every 20 ms; fallocate refused"
            + ("" if seccomp.program() is not None else " (not on this machine)")
        ),
        "tmp_mb": "tmpfs /tmp and /dev/shm with size=",
        "wall_seconds": "watcher, kills the process group and cgroup",
        "log_mb": "pipe reader",
    }
