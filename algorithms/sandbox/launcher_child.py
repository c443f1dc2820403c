"""The program of a sandbox's launcher (:mod:`.launcher`): started ahead of its run, it joins
the run's cgroups, waits for what only the run decides, then becomes bwrap.

Started by the worker as ``python -I -S -B <this file>`` (a fresh interpreter, the standard
library only: about 15 ms, beside the worker's claim, and nothing of the worker's memory):

    launcher_child.py --worker PID --control FD --errors FD --log FD [--cgroup FOLDER ...]

1. it dies with the worker (``PR_SET_PDEATHSIG``) and writes its pid to each run cgroup's
   ``cgroup.procs`` (the move the kernel makes wait for an RCU grace period);
2. it reads one JSON object from ``--control`` until the worker closes it (empty: the
   launcher was discarded, it exits): ``argv`` (bwrap's command line), ``rlimits``
   (``[resource, soft, hard]``, in order), ``stage`` (a root worker's staged paths, see
   :mod:`.hostuser`), ``keep`` (the descriptors bwrap reads by number), ``user`` (``[uid,
   gid]`` a root worker drops to, or null);
3. it sets the rlimits, stages, drops to the user, points stdin at ``/dev/null`` and stdout
   and stderr at ``--log``, closes every other descriptor, sets every signal to its default
   and executes bwrap. ``--errors`` closes on that exec: the worker reads it to its end, and
   anything written there is why the launcher could not.

What it reads comes from the worker, never from a run. No import of the platform's code.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import stat
import sys

PR_SET_PDEATHSIG = 1
ERROR_BYTES = 500
STAGE = "/tmp"  # noqa: S108 - a tmpfs of the child's own mount namespace, not the host's /tmp
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


def libc() -> ctypes.CDLL:
    """The C library, with the argument types of the calls made here."""
    found = ctypes.CDLL(None, use_errno=True)
    found.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    found.unshare.argtypes = [ctypes.c_int]
    return found


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def stage(paths: list[str], c: ctypes.CDLL) -> None:
    """As root, before the uid drop: a private mount namespace with a tmpfs on ``/tmp`` on
    which ``paths[n]`` is bound at ``/tmp/<n>`` (:mod:`.hostuser` says why)."""
    _check(c.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(c.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    # Opened in the new namespace, before the tmpfs hides what may lie under /tmp.
    fds = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths]
    _check(
        c.mount(
            b"sandbox-stage",
            STAGE.encode(),
            b"tmpfs",
            MS_NOSUID | MS_NODEV | MS_NOEXEC,
            b"mode=0755,size=1m",
        ),
        f"mount a tmpfs on {STAGE}",
    )
    for number, fd in enumerate(fds):
        target = f"{STAGE}/{number}"
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        source = f"/proc/self/fd/{fd}".encode()
        _check(c.mount(source, target.encode(), None, MS_BIND | MS_REC, None), "bind")
        os.close(fd)


def join_cgroups(folders: list[str]) -> None:
    """Move this process (and so everything it starts) into the cgroup ``folders``."""
    pid = str(os.getpid())
    for folder in folders:
        with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
            procs.write(pid)


def drop(uid: int, gid: int) -> None:
    """Become ``uid``/``gid``, with no supplementary groups (irrevocably)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def _options(argv: list[str]) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for name, value in zip(argv[::2], argv[1::2], strict=True):
        options.setdefault(name.removeprefix("--"), []).append(value)
    return options


def read_all(fd: int) -> bytes:
    """What ``fd`` gives until its writers close it."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def become_bwrap(told: dict, *, log: int, errors: int, c: ctypes.CDLL) -> None:
    """Step 3 of the module docstring; returns only by raising."""
    for number, soft, hard in told["rlimits"]:
        resource.setrlimit(int(number), (int(soft), int(hard)))
    if told.get("stage"):
        stage([str(path) for path in told["stage"]], c)
    if told.get("user") is not None:
        uid, gid = told["user"]
        drop(int(uid), int(gid))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    keep = {int(fd) for fd in told["keep"]}
    for fd in keep:
        os.set_inheritable(fd, True)
    os.set_inheritable(errors, False)
    _close_all_but({0, 1, 2, errors, *keep})
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
    os.chdir("/")
    argv = [str(part) for part in told["argv"]]
    os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin"})  # noqa: S606 - bwrap, by path


def main(argv: list[str]) -> int:
    options = _options(argv)
    errors = int(options["errors"][0])
    try:
        c = libc()
        c.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != int(options["worker"][0]):  # the worker died before the line above
            return 1
        join_cgroups(options.get("cgroup", []))
        told = json.loads(read_all(int(options["control"][0])) or b"{}")
        if not told.get("argv"):
            return 0  # discarded
        become_bwrap(told, log=int(options["log"][0]), errors=errors, c=c)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.write(errors, f"{type(exc).__name__}: {exc}"[:ERROR_BYTES].encode())
    return 127


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
