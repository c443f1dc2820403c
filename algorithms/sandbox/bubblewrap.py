"""The bubblewrap backend: deny by default, then read-only binds of exactly what a run needs.

Inside, the algorithm sees an empty root with:

- ``/usr`` (and the ``/lib``, ``/lib64``, ``/bin`` links of a merged-/usr system): system
  libraries, read-only; the platform's Python runtime (its virtual environment and the base
  interpreter it points to) read-only at their own paths, with the platform's own packages
  masked when they are installed there;
- the root itself read-only (bwrap's root tmpfs, remounted), and
  ``/code`` (the archive, read-only), ``/task`` (read-only), ``/output`` (a tmpfs of
  ``output_mb``), ``/tmp`` (a tmpfs of ``tmp_mb``), a fresh ``/proc`` of its own pid
  namespace, a minimal read-only ``/dev`` whose ``/dev/shm`` is another tmpfs of ``tmp_mb``
  (for multiprocessing), and the launcher, read-only at ``/sandbox/launch.py``;
- no network (its own empty network namespace: only a loopback of its own), no IPC, no
  view of other processes, a new session (no terminal), no capabilities, no user namespaces
  of its own, and an environment of exactly ``TASK_DIR``, ``OUTPUT_DIR``, ``PATH``,
  ``HOME``, ``LANG``, ``MPLCONFIGDIR``, ``PYTHONFAULTHANDLER`` (plus the job's own
  ``environment``, set by the platform for its built-in baseline, never by an archive).
  bwrap itself is started with the same small environment.

**Nobody on the host** (:mod:`.hostuser`): the sandbox's user is 65534 inside and an
unprivileged host uid outside; a root worker drops to that uid (``ALGORITHM_SANDBOX_UID``,
default 65534) before it executes bwrap, so host root is never mapped into a sandbox.
**A seccomp filter** (:mod:`.seccomp`, compiled by libseccomp) allows, in every run, only
the system calls the runtime needs (an allow-list derived by tracing the honest runtimes;
Unix sockets only, the default personality, no namespaces); every other call fails with
``EPERM`` (io_uring and clone3 with ``ENOSYS``).

The entrypoint runs under :mod:`common.launch`, bound read-only as a file (``python -B -s
/sandbox/launch.py /code/main.py``: :mod:`.command`): as ``python main.py`` would run it,
but the process ends with ``os._exit`` once the program's threads, ``atexit`` functions and
streams are done, skipping an interpreter teardown in which pyarrow's threads could make an
honest run abort.

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
the sampled sum over the tree. ``RLIMIT_NPROC`` would count every run of the shared
sandbox uid, so a root worker relies on a pids cgroup and refuses to run without one.
``RLIMIT_FSIZE`` caps each file and ``RLIMIT_CORE`` is 0 everywhere.

**Disk** (:mod:`.outputfs`): ``/output`` is a tmpfs of the sandbox's own, so the kernel
counts its blocks (``fallocate`` included); the worker opens it before the program starts,
looks at it with one ``fstatvfs`` every 20 ms (the run is killed past ``MAX_INODES`` files
and folders), shows it at the run's host folder while the run is alive, and copies its top
level out when the run has ended. A wall-clock deadline, the log cap and a cancel kill the
whole run (its process group, and every process of its cgroup). stdout and stderr go through
a pipe, never to disk: the last 64 KB are kept and the run is killed past ``log_mb``. Peak
memory is the largest of the kernel's maximum resident set, the sampled resident sum over
the process tree and the cgroup's anonymous plus tmpfs memory.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
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
    MEMORY,
    PIDS,
    CgroupHost,
    RunCgroup,
    host_cgroups,
)
from algorithms.sandbox.command import (
    Descriptors,
    bwrap_command,
)
from algorithms.sandbox.command import (
    environment as sandbox_environment,
)
from algorithms.sandbox.hostuser import HostUser, Staging, host_user, share_read_only
from algorithms.sandbox.launcher import Child, Prepared, prepare_launcher
from algorithms.sandbox.outcome import Observed, enforcement, infer_limit, message
from algorithms.sandbox.outputfs import OutputUnavailable, SandboxOutput
from algorithms.sandbox.watch import LogReader, OutputWatch, StatusPipe, sample_tree

POLL_SECONDS = 0.2
STOP_POLL_SECONDS = 1.0
SETUP_SECONDS = 60.0  # bwrap's own setup, before the program starts


class BubblewrapBackend(SandboxBackend):
    name = "bubblewrap"

    def __init__(
        self,
        bwrap: str | None = None,
        *,
        cgroups: Callable[[], CgroupHost | None] = host_cgroups,
        sandbox_uid: int | None = None,
    ) -> None:
        """``cgroups`` finds the host's cgroup layout for each run (None: rlimits only);
        ``sandbox_uid`` is the host uid a root worker runs sandboxes as (default 65534)."""
        if sandbox_uid == 0:
            raise ValueError("the sandbox's host uid must not be 0 (root)")
        self.bwrap = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"
        self.cgroups = cgroups
        self.sandbox_uid = sandbox_uid

    # --- checks and command line ----------------------------------------------------------

    def check(self) -> None:
        if not Path(self.bwrap).exists():
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
            )
        self._filter()
        user = host_user(self.sandbox_uid)
        probe = subprocess.run(
            [self.bwrap, "--unshare-all", "--ro-bind", "/", "/", "true"],
            capture_output=True,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
            preexec_fn=user.drop if user is not None else None,
            timeout=30,
            check=False,
        )
        if probe.returncode != 0:
            reason = probe.stderr.decode(errors="replace").strip()
            raise SandboxUnavailable(
                f"bubblewrap cannot create namespaces here ({reason}); the sandbox needs "
                "unprivileged user namespaces (kernel.unprivileged_userns_clone=1)"
            )

    def command(
        self, job: SandboxJob, *, fds: Descriptors | None = None, staging: Staging | None = None
    ) -> list[str]:
        """The bwrap command line for ``job`` (:mod:`.command`)."""
        source = staging.source if staging is not None else str
        return bwrap_command(self.bwrap, job, fds or Descriptors(), source)

    @staticmethod
    def environment() -> dict[str, str]:
        return sandbox_environment()

    @staticmethod
    def _filter() -> bytes:
        try:
            return seccomp.program()
        except seccomp.SeccompUnavailable as exc:
            raise SandboxUnavailable(str(exc)) from exc

    def memory_reservation_mb(self, limits: SandboxLimits) -> int:
        """A memory cgroup bounds a run's processes and tmpfs pages together where the host
        offers one (:meth:`_cgroup` makes it for each run); else the rlimits' worst case."""
        host = self.cgroups()
        return limits.host_memory_mb(memory_cgroup=host is not None and host.covers(MEMORY))

    # --- running --------------------------------------------------------------------------

    def prepare(self) -> Prepared:
        """A run's first process, started now and waiting in the run's cgroups until
        :meth:`run` (:mod:`.launcher`); :meth:`Prepared.discard` when no run follows."""
        user = host_user(self.sandbox_uid)
        cgroup = self._cgroup(user)
        try:
            return prepare_launcher(cgroup=cgroup, user=user, seccomp=self._filter())
        except BaseException:
            if cgroup is not None:
                cgroup.remove()
            raise

    def spare_key(self) -> Hashable:
        return ("bubblewrap", self.bwrap, host_user(self.sandbox_uid), self.cgroups)

    def run(
        self,
        job: SandboxJob,
        *,
        should_stop: Callable[[], bool] | None = None,
        prepared: Prepared | None = None,
    ) -> SandboxResult:
        prepared = prepared or self.prepare()
        try:
            job.output_dir.mkdir(parents=True, exist_ok=True)
            cgroup, user = prepared.launcher.cgroup, prepared.launcher.user
            if cgroup is not None:
                limits = job.limits
                cgroup.limit(
                    memory_bytes=limits.memory_mb * MB, processes=limits.processes, cpus=limits.cpus
                )
            _check_processes_capped(user, cgroup.controllers if cgroup is not None else set())
            return self._run(job, should_stop, prepared)
        finally:
            prepared.discard()

    def _cgroup(self, user: HostUser | None) -> RunCgroup | None:
        """The run's cgroups, made and not yet limited (None: the host offers none)."""
        host = self.cgroups()
        cgroup = RunCgroup(host) if host is not None else None
        if cgroup is not None and not cgroup.made:
            cgroup = None
        try:
            _check_processes_capped(user, set(cgroup.made) if cgroup is not None else set())
        except SandboxUnavailable:
            if cgroup is not None:
                cgroup.remove()
            raise
        return cgroup

    def _start(self, job: SandboxJob, prepared: Prepared) -> _Started:
        """Start bwrap from the prepared launcher (it sets its rlimits, and a root worker's
        launcher stages the binds and drops to the sandbox's uid, :mod:`.hostuser`)."""
        launcher = prepared.launcher
        limits, cgroup, user = job.limits, launcher.cgroup, launcher.user
        covered = cgroup.controllers if cgroup is not None else set()
        if user is not None:  # written under the worker's umask: readable by nobody else
            share_read_only(job.code_dir)
            share_read_only(job.task_dir)
            if job.model_file is not None:
                share_read_only(job.model_file)
        command = self.command(job, fds=prepared.fds, staging=launcher.staging)
        cpu = limits.cpu_seconds  # per process; the tree's total is watched
        rlimits = [(resource.RLIMIT_CPU, cpu, cpu + 5)]
        if MEMORY not in covered:
            memory = limits.memory_mb * MB
            rlimits.append((resource.RLIMIT_AS, memory, memory))
        if PIDS in covered:  # the shared uid's count is not this run's: as high as allowed
            _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
            rlimits.append((resource.RLIMIT_NPROC, hard, hard))
        else:
            rlimits.append((resource.RLIMIT_NPROC, limits.processes, limits.processes))
        size = max(limits.output_mb, limits.tmp_mb) * MB  # per file; totals capped apart
        rlimits += [(resource.RLIMIT_FSIZE, size, size), (resource.RLIMIT_CORE, 0, 0)]
        process = launcher.launch(command, rlimits=rlimits)
        status = StatusPipe(prepared.take("status"))
        return _Started(process=process, status=status, block=prepared.take("block"))

    def _attach_output(self, job: SandboxJob, started: _Started) -> SandboxOutput | None:
        """Open the sandbox's /output while bwrap waits, show it at the run's folder, then
        let the program start; None (and bwrap killed) when that was not possible."""
        pid = started.process.pid
        alive = lambda: _alive(pid)  # noqa: E731
        output = None
        try:
            child = started.status.child_pid(alive=alive, timeout=SETUP_SECONDS)
            if child is not None:
                output = SandboxOutput.attach(
                    child, job.limits.output_mb * MB, alive=alive, timeout=SETUP_SECONDS
                )
                output.show_at(job.output_dir)
                os.write(started.block, b"go")
        except (OutputUnavailable, OSError):
            if output is not None:
                output.close()
            output = None
        finally:
            os.close(started.block)
        if output is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        return output

    def _run(
        self, job: SandboxJob, should_stop: Callable[[], bool] | None, prepared: Prepared
    ) -> SandboxResult:
        limits = job.limits
        cgroup, user = prepared.launcher.cgroup, prepared.launcher.user
        started_at = time.monotonic()
        started = self._start(job, prepared)
        process = started.process
        reader = LogReader(prepared.take("log"), limits.log_mb * MB)
        reader.start()
        kill = lambda: self._kill(process, cgroup)  # noqa: E731
        output, output_watch, reaped = None, None, False
        sampled_cpu: dict[int, float] = {}
        try:
            output = self._attach_output(job, started)
            if output is not None:
                output_watch = OutputWatch(output, limits.output_mb * MB, kill)
                output_watch.start()
            hit, cancelled, peak = None, False, 0
            try:
                if output is not None:
                    hit, cancelled, peak = self._watch(
                        process, job, reader, should_stop, started_at, sampled_cpu, cgroup,
                        output_watch,
                    )  # fmt: skip
            except BaseException:  # e.g. the worker's soft time limit: leave nothing behind
                if output_watch is not None:
                    output_watch.done.set()
                kill()
                with contextlib.suppress(ChildProcessError):
                    _, wait_status = os.waitpid(process.pid, 0)
                    process.reaped(os.waitstatus_to_exitcode(wait_status))
                raise
            if output_watch is not None:
                output_watch.done.set()  # before the reap: it never signals a reused pid
                output_watch.join(timeout=5)
            _, wait_status, rusage = os.wait4(process.pid, 0)
            process.reaped(os.waitstatus_to_exitcode(wait_status))
            reaped = True
            seconds = time.monotonic() - started_at
        finally:
            if output_watch is not None:
                output_watch.done.set()
            reader.join(timeout=5)
            status = started.status.finish()
            if output is not None and not reaped:
                output.close()  # an exception on the way: nothing is copied
        return self._outcome(
            job,
            _Ended(
                process=process,
                wait_status=wait_status,
                rusage=rusage,
                status=status,
                seconds=seconds,
                hit=hit,
                cancelled=cancelled,
                peak=peak,
                cgroup=cgroup,
                output=output,
                output_watch=output_watch,
                reader=reader,
                user=user,
                sampled_cpu=sampled_cpu,
            ),
        )

    def _outcome(self, job: SandboxJob, end: _Ended) -> SandboxResult:
        """The result once bwrap is reaped: the program's status, what it used, the limit it
        hit (the output copied out on the way), in words."""
        limits, cgroup, hit = job.limits, end.cgroup, end.hit
        tree_cpu = cgroup.cpu_seconds() if cgroup is not None else None
        rusage = end.rusage
        cpu = max(rusage.ru_utime + rusage.ru_stime, sum(end.sampled_cpu.values()), tree_cpu or 0.0)
        peak = max(end.peak, rusage.ru_maxrss * 1024)
        # The program's own status, from bwrap's monitor; bwrap's when it never got there.
        started_program = "exit-code" in end.status
        code = (
            int(end.status["exit-code"])
            if started_program
            else os.waitstatus_to_exitcode(end.wait_status)
        )
        end.process.reaped(code)
        log = end.reader.text()
        detail = end.output_watch.reason if end.output_watch is not None else ""
        used = end.output.usage().bytes if end.output is not None else 0
        if end.output is not None:  # copied out by this thread: its CPU is the run's
            before = time.thread_time()
            over = end.output.copy_out(job.output_dir, limits.output_mb * MB)
            cpu += time.thread_time() - before
            if over and hit is None:
                hit, detail = "output_mb", over  # not all of it was kept
        if end.output_watch is not None:
            cpu += end.output_watch.cpu_seconds
        seen = Observed(
            code=code,
            cpu=cpu,
            log=log,
            output_bytes=used,
            oom_killed=cgroup is not None and cgroup.oom_kills() > 0,
            processes_hit=cgroup is not None and cgroup.processes_hit(),
        )
        if hit is None and end.reader.over.is_set():  # it ended between two polls
            hit = "log_mb"
        hit = hit or infer_limit(limits, seen)
        if hit is None and not end.cancelled and not started_program:
            last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
            raise SandboxUnavailable(f"bubblewrap did not run the algorithm: {last[:300]}")
        return SandboxResult(
            ok=code == 0 and hit is None and not end.cancelled,
            exit_code=code,
            limit_hit=hit,
            message=message(
                limits, code=code, hit=hit, cancelled=end.cancelled, log=log, detail=detail
            ),
            seconds=round(end.seconds, 3),
            cpu_seconds=round(cpu, 3),
            peak_memory_mb=round(peak / MB, 1),
            log_tail=log,
            log_bytes=end.reader.total,
            cancelled=end.cancelled,
            pid=end.process.pid,
            enforcement=enforcement(limits, cgroup, end.user),
        )

    def _watch(
        self,
        process: Child,
        job: SandboxJob,
        reader: LogReader,
        should_stop: Callable[[], bool] | None,
        started: float,
        cpu: dict[int, float],
        cgroup: RunCgroup | None,
        output_watch: OutputWatch | None,
    ) -> tuple[str | None, bool, int]:
        """Poll until the process ends or must be killed; return (limit hit, cancelled,
        peak sampled bytes)."""
        limits = job.limits
        deadline = started + limits.wall_seconds
        peak = 0
        next_stop_check = started + STOP_POLL_SECONDS
        exited = _ExitSignal(process.pid)
        over = output_watch.over if output_watch is not None else None
        try:
            while True:
                if not _alive(process.pid):  # ended (or killed by the output watcher)
                    watched = over is not None and over.is_set()
                    return ("output_mb" if watched else None), False, peak
                now = time.monotonic()
                members = cgroup.pids() if cgroup is not None else None
                peak = max(peak, sample_tree(process.pid, cpu, members))
                hit = self._limit_hit(limits, now, deadline, reader, cpu, cgroup)
                if cgroup is not None:
                    peak = max(peak, cgroup.memory_bytes())
                if hit is not None:
                    self._kill(process, cgroup)
                    return hit, False, peak
                if over is not None and over.is_set():
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
    def _kill(process: Child, cgroup: RunCgroup | None) -> None:
        """Kill the whole run: bwrap's process group (the program dies with its parent,
        ``--die-with-parent``, and with it every process of its pid namespace) and every
        process of its cgroup."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if cgroup is not None:
            cgroup.kill()


def _check_processes_capped(user: HostUser | None, controllers: set[str]) -> None:
    """A root worker's runs share the sandbox's uid: refused unless a pids cgroup among
    ``controllers`` (made, or made and limited) caps each run."""
    if user is not None and PIDS not in controllers:
        raise SandboxUnavailable(
            "the worker runs as root and no writable pids cgroup was found: every run "
            "shares the sandbox's uid, so RLIMIT_NPROC cannot cap one run; run the "
            "algorithms worker as a non-root user"
        )


@dataclass
class _Started:
    process: Child
    status: StatusPipe
    block: int  # written once /output is open: bwrap then executes the program


@dataclass
class _Ended:
    process: Child
    wait_status: int
    rusage: resource.struct_rusage
    status: dict[str, object]
    seconds: float
    hit: str | None
    cancelled: bool
    peak: int
    cgroup: RunCgroup | None
    output: SandboxOutput | None
    output_watch: OutputWatch | None
    reader: LogReader
    user: HostUser | None
    sampled_cpu: dict[int, float] = field(default_factory=dict)


def _alive(pid: int) -> bool:
    """True while child ``pid`` has not ended (it is never reaped here)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None
    except ChildProcessError:
        return False


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


def default_backend(*, sandbox_uid: int | None = None) -> SandboxBackend:
    """The backend runs use; ``sandbox_uid``: the host uid a root worker's sandboxes run as
    (``ALGORITHM_SANDBOX_UID``; default nobody)."""
    return BubblewrapBackend(sandbox_uid=sandbox_uid)
