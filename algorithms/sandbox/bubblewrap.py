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
  ``HOME``, ``LANG`` (plus the job's own ``environment``, set by the platform for its
  built-in baseline, never by an archive). bwrap itself is started with the same small
  environment, because a sandboxed process can read ``/proc/1/environ`` (bwrap's init).

Limits: ``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_NPROC``, ``RLIMIT_FSIZE`` (the output cap
per file), ``RLIMIT_CORE=0``; a wall-clock deadline that kills the whole process group (the
sandbox's init dies with it and the kernel kills everything in its pid namespace); the
output folder is summed by a watcher thread every ``OUTPUT_POLL_SECONDS`` and the run
killed when it grows past ``output_mb`` (so it may overshoot by what a process writes in one
such interval); stdout
and stderr go through a pipe, never to disk: the last 64 KB are kept and the run is killed
past ``log_mb``. ``RLIMIT_NPROC`` does not bind a process whose host uid is root, so a
worker running as root puts each run in a fresh ``pids`` cgroup instead (and refuses to
run when it cannot). Peak memory is the larger of the kernel's maximum resident set of any
process of the run and the sampled sum over its process tree.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from algorithms.sandbox.base import (
    LOG_TAIL_BYTES,
    MB,
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)

POLL_SECONDS = 0.2
OUTPUT_POLL_SECONDS = 0.02  # the output watcher's own, tighter loop
SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own tmpfs, not the host's
SANDBOX_SHM = "/dev/shm"  # noqa: S108 - likewise
STOP_POLL_SECONDS = 1.0
# Packages of the platform: masked inside the runtime when installed there (non-editable).
PLATFORM_PACKAGES = ("challenge_platform", "datasets", "scoring", "leaderboard", "algorithms")
CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
CGROUP_PREFIX = "algorithm-run-"
CGROUP_STALE_SECONDS = 120
MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
PROCESS_SIGNS = ("Resource temporarily unavailable", "can't start new thread")
FSIZE_SIGNS = ("File too large",)
NOSPACE_SIGNS = ("No space left on device",)


def _runtime_paths() -> list[Path]:
    """The interpreter's own folders: the virtual environment and the base installation."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    executable = Path(sys.executable).resolve()
    if not any(executable.is_relative_to(p) for p in paths):
        paths.add(executable.parent.parent)
    covered = [p for p in sorted(paths) if not p.is_relative_to(Path("/usr"))]
    return [p for p in covered if not any(p != q and p.is_relative_to(q) for q in covered)]


def _python() -> str:
    """The venv's interpreter path (its ``pyvenv.cfg`` makes the venv's packages visible)."""
    return str(Path(sys.prefix).resolve() / "bin" / "python")


def _masked_packages(runtime: list[Path]) -> list[Path]:
    masked = []
    for name in PLATFORM_PACKAGES:
        module = sys.modules.get(name)
        path = Path(getattr(module, "__file__", "") or "").parent if module else None
        if path and path.is_dir() and any(path.is_relative_to(r) for r in runtime):
            masked.append(path)
    return masked


class _PidsCgroup:
    """A fresh ``pids`` cgroup (v1 or v2) capping a run's processes and threads."""

    def __init__(self, limit: int) -> None:
        self.path: Path | None = None
        for root in CGROUP_ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            if root.name != "pids" and "pids" not in _read(root / "cgroup.subtree_control"):
                continue
            _remove_stale_cgroups(root)
            path = root / f"{CGROUP_PREFIX}{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(limit))
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            self.path = path
            return

    def join(self) -> None:
        """In the child before exec: move this process (and so its descendants) in."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def hit(self) -> bool:
        if self.path is None:
            return False
        for line in _read(self.path / "pids.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and value.strip() not in ("", "0"):
                return True
        return False

    def remove(self) -> None:
        if self.path is None:
            return
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def _remove_stale_cgroups(root: Path) -> None:
    """Remove the empty cgroups a killed worker left behind (rmdir fails on a busy one;
    young ones may belong to a run that is just starting)."""
    now = time.time()
    for path in root.glob(f"{CGROUP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > CGROUP_STALE_SECONDS:
                path.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class _LogReader(threading.Thread):
    """Drains the run's stdout+stderr pipe: keeps the tail, counts every byte."""

    def __init__(self, fd: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.cap = fd, cap
        self.tail = bytearray()
        self.total = 0
        self.over = threading.Event()

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.total += len(chunk)
                self.tail += chunk
                if len(self.tail) > 2 * LOG_TAIL_BYTES:
                    del self.tail[: len(self.tail) - LOG_TAIL_BYTES]
                if self.total > self.cap:
                    self.over.set()
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        data = bytes(self.tail[-LOG_TAIL_BYTES:])
        if self.total > LOG_TAIL_BYTES and b"\n" in data:
            data = data.split(b"\n", 1)[1]
        # NUL is not text (PostgreSQL refuses it in a text column): shown as \0.
        return data.decode("utf-8", "replace").replace("\x00", "\\0")


class _OutputWatch(threading.Thread):
    """Sums ``/output`` every ``OUTPUT_POLL_SECONDS`` in its own thread and kills the run
    (``kill``) the moment it grows past ``cap``: a disk-filling loop overshoots by what it
    writes in one such interval, not by one of the main loop's slower rounds."""

    def __init__(self, path: Path, cap: int, kill: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.path, self.cap, self.kill = path, cap, kill
        self.over = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if _dir_bytes(self.path) > self.cap:
                self.kill()
                self.over.set()
                return
            self.done.wait(OUTPUT_POLL_SECONDS)


def _sample_tree(pid: int, cpu: dict[int, float]) -> int:
    """Resident bytes of ``pid`` and its descendants (0 when gone); records each process's
    CPU seconds in ``cpu`` (the kernel's rusage misses what bwrap's init reaps)."""
    try:
        import psutil

        root = psutil.Process(pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu[proc.pid] = max(cpu.get(proc.pid, 0.0), times.user + times.system)
        return total
    except Exception:
        return 0


def _dir_bytes(path: Path, limit_entries: int = 100_000) -> int:
    total, seen = 0, 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            seen += 1
            if seen > limit_entries:
                return 1 << 62  # a flood of entries counts as over any cap
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


class BubblewrapBackend(SandboxBackend):
    name = "bubblewrap"

    def __init__(self, bwrap: str | None = None) -> None:
        self.bwrap = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"

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

    def command(self, job: SandboxJob) -> list[str]:
        """The bwrap command line for ``job`` (see the module docstring)."""
        limits = job.limits
        runtime = _runtime_paths()
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
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
        environment = {**job.environment, **self.environment()}
        for key, value in environment.items():
            args += ["--setenv", key, value]
        args += ["--", _python(), "-B", "-s", f"/code/{job.entrypoint}"]
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
        }

    # --- running --------------------------------------------------------------------------

    def run(
        self, job: SandboxJob, *, should_stop: Callable[[], bool] | None = None
    ) -> SandboxResult:
        limits = job.limits
        job.output_dir.mkdir(parents=True, exist_ok=True)
        cgroup = _PidsCgroup(limits.processes) if os.geteuid() == 0 else None
        if cgroup is not None and cgroup.path is None:
            raise SandboxUnavailable(
                "the worker runs as root, where RLIMIT_NPROC does not bind, and no writable "
                "pids cgroup was found: run the algorithms worker as a non-root user"
            )
        read_fd, write_fd = os.pipe()

        def limit_child() -> None:  # in the child, before exec
            if cgroup is not None:
                cgroup.join()
            cpu = limits.cpu_seconds
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            memory = limits.memory_mb * MB
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            size = max(limits.output_mb, limits.tmp_mb) * MB  # per file; totals watched
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        started = time.monotonic()
        try:
            process = subprocess.Popen(
                self.command(job),
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                env={"PATH": "/usr/bin:/bin"},
                close_fds=True,
                start_new_session=True,
                preexec_fn=limit_child,
            )
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            if cgroup is not None:
                cgroup.remove()
            raise
        os.close(write_fd)
        reader = _LogReader(read_fd, limits.log_mb * MB)
        reader.start()
        output_watch = _OutputWatch(
            job.output_dir, limits.output_mb * MB, lambda: self._kill(process)
        )
        output_watch.start()
        sampled_cpu: dict[int, float] = {}
        try:
            try:
                hit, cancelled, peak = self._watch(
                    process, job, reader, should_stop, started, sampled_cpu, cgroup, output_watch
                )
            except BaseException:  # e.g. the worker's soft time limit: leave nothing behind
                output_watch.done.set()
                self._kill(process)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(process.pid, 0)
                raise
            output_watch.done.set()  # before the reap: it never signals a reused pid
            output_watch.join(timeout=5)
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            output_watch.done.set()
            reader.join(timeout=5)
            if cgroup is not None:
                processes_hit = cgroup.hit()
                cgroup.remove()
            else:
                processes_hit = False
        seconds = time.monotonic() - started
        cpu = max(usage.ru_utime + usage.ru_stime, sum(sampled_cpu.values()))
        peak = max(peak, usage.ru_maxrss * 1024)
        code = os.waitstatus_to_exitcode(status)
        process.returncode = code
        log = reader.text()
        hit = hit or self._infer_limit(
            limits, code=code, cpu=cpu, log=log, output=job.output_dir, processes=processes_hit
        )
        ok = code == 0 and hit is None and not cancelled
        return SandboxResult(
            ok=ok,
            exit_code=code,
            limit_hit=hit,
            message=self._message(limits, code=code, hit=hit, cancelled=cancelled, log=log),
            seconds=round(seconds, 3),
            cpu_seconds=round(cpu, 3),
            peak_memory_mb=round(peak / MB, 1),
            log_tail=log,
            log_bytes=reader.total,
            cancelled=cancelled,
            pid=process.pid,
        )

    def _watch(
        self,
        process: subprocess.Popen,
        job: SandboxJob,
        reader: _LogReader,
        should_stop: Callable[[], bool] | None,
        started: float,
        cpu: dict[int, float],
        cgroup: _PidsCgroup | None,
        output_watch: _OutputWatch,
    ) -> tuple[str | None, bool, int]:
        """Poll until the process ends or must be killed; return (limit hit, cancelled,
        peak sampled bytes)."""
        limits = job.limits
        deadline = started + limits.wall_seconds
        peak = 0
        next_stop_check = started + STOP_POLL_SECONDS
        while True:
            try:
                info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            except ChildProcessError:
                info = True
            if info is not None:  # ended (or killed by the output watcher)
                return ("output_mb" if output_watch.over.is_set() else None), False, peak
            now = time.monotonic()
            peak = max(peak, _sample_tree(process.pid, cpu))
            if now >= deadline:
                self._kill(process)
                return "wall_seconds", False, peak
            if reader.over.is_set():
                self._kill(process)
                return "log_mb", False, peak
            if cgroup is not None and cgroup.hit():
                self._kill(process)
                return "processes", False, peak
            if output_watch.over.is_set():
                return "output_mb", False, peak
            if should_stop is not None and now >= next_stop_check:
                next_stop_check = now + STOP_POLL_SECONDS
                if should_stop():
                    self._kill(process)
                    return None, True, peak
            reader.over.wait(POLL_SECONDS)

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        """Kill the whole process group; the sandbox's init dies with its parent (bwrap's
        ``--die-with-parent``), and with it every process of its pid namespace."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    @staticmethod
    def _infer_limit(
        limits: SandboxLimits,
        *,
        code: int,
        cpu: float,
        log: str,
        output: Path,
        processes: bool,
    ) -> str | None:
        if processes:
            return "processes"
        if code == 0:
            return None
        tail = log[-4096:]
        if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU) or (
            code in (-signal.SIGKILL, 128 + signal.SIGKILL) and cpu >= limits.cpu_seconds - 1
        ):
            return "cpu_seconds"
        if any(sign in tail for sign in PROCESS_SIGNS):
            return "processes"
        if any(sign in tail for sign in MEMORY_SIGNS):
            return "memory_mb"
        full = code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or any(
            sign in tail for sign in FSIZE_SIGNS + NOSPACE_SIGNS
        )
        if full:
            return "output_mb" if _dir_bytes(output) >= limits.output_mb * MB * 0.9 else "tmp_mb"
        return None

    @staticmethod
    def _message(
        limits: SandboxLimits, *, code: int, hit: str | None, cancelled: bool, log: str
    ) -> str:
        if cancelled:
            return "cancelled"
        if hit is not None:
            return f"stopped: the algorithm hit {limits.describe(hit)}"
        if code == 0:
            return "finished"
        if code < 0 or code > 128:
            number = -code if code < 0 else code - 128
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            return f"the algorithm was killed by {name}"
        last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
        return f"the algorithm exited with code {code}" + (f": {last[:300]}" if last else "")
