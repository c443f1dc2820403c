"""A run's first process, started before the run is known: in the run's cgroups by the time
the worker has claimed and staged the run.

Moving a process into a cgroup makes the kernel wait for an RCU grace period (the
threadgroup lock's writer side, on cgroup v1 and v2 alike): 7-17 ms on the CI host. Paid in
``Popen``'s ``preexec_fn`` with the fork of a worker that holds pyarrow and Django (whose
child runs Python code in copy-on-write pages), starting bwrap took 30-38 ms of every run's
path (docs/decisions/0063-the-sandbox-launcher-starts-ahead.md). Forking the worker ahead
instead cost as much again: the worker then pays a copy-on-write fault for every page it
writes while the fork lives.

So the worker starts a :class:`Launcher` when it takes a run's message, before the claim:
a fresh interpreter with the standard library only (:mod:`.launcher_child`, spawned without
a ``preexec_fn``, so ``Popen`` uses ``vfork``: nothing of the worker's memory is shared),
which joins the run's (not yet limited) cgroups and waits on a pipe. The claim and the
staging run meanwhile. :meth:`Launcher.launch` sends what only the run decides (bwrap's
command line, the rlimits, a root worker's staged paths and user) and the launcher becomes
bwrap: the worker's own child, reaped by the backend. A launcher never used (no run to
claim, a reused result, a cancel) is killed and reaped by :meth:`Launcher.discard`.

The descriptors bwrap reads are made before the launcher starts and passed to it by
number. No Django here.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from algorithms.sandbox import launcher_child
from algorithms.sandbox.base import SandboxUnavailable
from algorithms.sandbox.cgroups import RunCgroup
from algorithms.sandbox.command import LAUNCHER, Descriptors, memory_file, proc_files
from algorithms.sandbox.hostuser import HostUser, Staging

PROGRAM = Path(launcher_child.__file__).resolve()


@dataclass
class Child:
    """The launched process (bwrap): the worker's own child, reaped by the backend, which
    records its exit here (so ``subprocess`` never reaps it behind the backend's back)."""

    process: subprocess.Popen = field(repr=False)
    returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def reaped(self, returncode: int) -> None:
        self.returncode = self.process.returncode = returncode


@dataclass
class Launcher:
    """One launcher waiting to execute bwrap for a run (see the module docstring)."""

    cgroup: RunCgroup | None
    user: HostUser | None
    keep: tuple[int, ...]
    staging: Staging | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    _control: int = -1
    _errors: int = -1
    _done: bool = field(default=False, repr=False)

    @classmethod
    def start(
        cls,
        *,
        cgroup: RunCgroup | None,
        user: HostUser | None,
        keep: tuple[int, ...],
        log: int,
    ) -> Launcher:
        """Start the launcher with ``keep`` (the descriptors bwrap reads by number) and
        ``log`` (its stdout and stderr); the worker's copies of both are closed, whether or
        not it started."""
        staging = Staging() if user is not None else None
        launcher = cls(cgroup=cgroup, user=user, keep=keep, staging=staging)
        try:
            control_read, launcher._control = os.pipe()
            launcher._errors, errors_write = os.pipe()
            try:
                folders = sorted({str(f) for f in cgroup.made.values()}) if cgroup else []
                command = [sys.executable, "-I", "-S", "-B", str(PROGRAM)]
                command += ["--worker", str(os.getpid()), "--control", str(control_read)]
                command += ["--errors", str(errors_write), "--log", str(log)]
                for folder in folders:
                    command += ["--cgroup", folder]
                launcher.process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                    cwd="/",
                    close_fds=True,
                    pass_fds=(*keep, log, control_read, errors_write),
                    start_new_session=True,
                )
            finally:
                os.close(control_read)
                os.close(errors_write)
        except BaseException:
            launcher._close_own()
            raise
        finally:
            for fd in (*keep, log):
                os.close(fd)
        return launcher

    def launch(
        self,
        argv: list[str],
        *,
        rlimits: list[tuple[int, int, int]],
    ) -> Child:
        """Execute ``argv`` (bwrap) in the launcher once it has set ``rlimits`` ((resource,
        soft, hard), in order), bound a root worker's staged paths and dropped to the
        sandbox's uid; the child once it executed, :class:`SandboxUnavailable` with the
        reason when it could not."""
        if self._done or self.process is None:
            raise RuntimeError("a launcher runs one command")
        self._done = True
        told = {
            "argv": argv,
            "rlimits": rlimits,
            "stage": [str(path) for path in self.staging.paths] if self.staging else [],
            "keep": list(self.keep),
            "user": [self.user.uid, self.user.gid] if self.user is not None else None,
        }
        try:
            with contextlib.suppress(BrokenPipeError):  # it ended: its reason follows
                view = memoryview(json.dumps(told).encode())
                while view:
                    view = view[os.write(self._control, view) :]
            os.close(self._control)
            self._control = -1
            reason = launcher_child.read_all(self._errors)  # empty: it executed bwrap
        except BaseException:
            self._done = False
            self.discard()
            raise
        os.close(self._errors)
        self._errors = -1
        if reason:  # (one that ended without a word is bwrap's failure to the backend)
            self.process.wait()
            said = reason.decode(errors="replace")
            raise SandboxUnavailable(f"the sandbox could not be prepared: {said}")
        return Child(self.process)

    def waiting(self) -> bool:
        """Whether it still waits for its command (started, alive, its pipes open)."""
        alive = self.process is not None and self.process.poll() is None
        return alive and not self._done and min(self._control, self._errors) >= 0

    def discard(self) -> None:
        """Kill and reap a launcher that will not run anything (safe to call again, and
        after :meth:`launch`, which it leaves alone)."""
        if self.process is not None and not self._done:
            self._done = True
            self.process.kill()
            self.process.wait()
        self._close_own()

    def _close_own(self) -> None:
        for fd in (self._control, self._errors):
            if fd >= 0:
                os.close(fd)
        self._control = self._errors = -1


def prepare_launcher(
    *, cgroup: RunCgroup | None, user: HostUser | None, seccomp: bytes
) -> Prepared:
    """Start a run's launcher in ``cgroup`` with the descriptors its bwrap reads (its status
    and block pipes, the ``seccomp`` filter and the program's launcher as memory files) and
    its log pipe; the worker's ends come back in the :class:`Prepared`."""
    made: list[int] = []
    try:
        log_read, log_write = _pipe(made)
        status_read, status_write = _pipe(made)
        block_read, block_write = _pipe(made)
        fds = Descriptors(
            status=status_write,
            block=block_read,
            seccomp=_kept(made, memory_file("sandbox-seccomp", seccomp)),
            launcher=_kept(made, memory_file("sandbox-launcher", LAUNCHER)),
            **{
                name: _kept(made, memory_file(f"sandbox-{name}", data))
                for name, data in proc_files().items()
            },
        )
        keep = (
            status_write, block_read, fds.seccomp, fds.launcher, fds.loadavg, fds.mountinfo,
            fds.mounts,
        )  # fmt: skip
        for fd in (*keep, log_write):  # the launcher's now (closed here once it started)
            made.remove(fd)
        launcher = Launcher.start(cgroup=cgroup, user=user, keep=keep, log=log_write)
    except BaseException:
        for fd in made:
            os.close(fd)
        raise
    return Prepared(launcher=launcher, fds=fds, log=log_read, status=status_read, block=block_write)


@dataclass
class Prepared:
    """A launcher waiting for its run (:func:`prepare_launcher`), with the worker's
    ends of the pipes bwrap writes its log and status to and waits on; each end is taken by
    the run that uses it, and :meth:`discard` closes what was not."""

    launcher: Launcher
    fds: Descriptors  # the launcher's numbers for bwrap's command line
    log: int
    status: int
    block: int

    def usable(self) -> bool:
        """Whether the launcher still waits with every pipe open and its cgroups there (a
        start kept between runs, :mod:`.spare`, may have been killed meanwhile)."""
        if not self.launcher.waiting() or min(self.log, self.status, self.block) < 0:
            return False
        cgroup = self.launcher.cgroup
        return cgroup is None or all(folder.is_dir() for folder in cgroup.made.values())

    def take(self, name: str) -> int:
        fd = getattr(self, name)
        setattr(self, name, -1)
        return fd

    def discard(self) -> None:
        """Kill an unused launcher, close the ends not taken, remove the run's cgroups."""
        self.launcher.discard()
        for name in ("log", "status", "block"):
            if (fd := self.take(name)) >= 0:
                os.close(fd)
        if self.launcher.cgroup is not None:
            self.launcher.cgroup.remove()


def _pipe(made: list[int]) -> tuple[int, int]:
    read, write = os.pipe()
    made += [read, write]
    return read, write


def _kept(made: list[int], fd: int) -> int:
    made.append(fd)
    return fd
