"""Who a sandboxed program is on the host: never root.

bwrap maps the sandbox's user (65534 inside) to the host uid that *started* bwrap. A worker
that runs as root (this machine's tests, the CI) would so make every algorithm host root in
a user namespace: harmless while the namespaces hold, but one kernel bug away from the host.
So a root worker never starts bwrap as root. In the child, before bwrap is executed:

1. the child joins the run's cgroup and sets its rlimits (as root: cgroup files are root's);
2. it takes a **mount namespace of its own** (private: nothing propagates to the host) and
   mounts a small tmpfs on ``/tmp`` *in that namespace*, on which it binds every host folder
   bwrap will bind (the runtime, the run's ``/code`` and ``/task``): bwrap resolves its
   sources as the user it runs as, and those folders may sit below folders only root may
   enter (``/root/.pyenv``, a ``0700`` data folder). Nothing of this is seen by the host,
   and it all goes away with the process;
3. it drops to an unprivileged host user (:class:`HostUser`: ``ALGORITHM_SANDBOX_UID``,
   default 65534, *nobody*; no supplementary groups) and executes bwrap, which then makes
   its user namespace as any unprivileged user would: the sandbox's uid 65534 is that host
   uid (``/proc/self/uid_map`` inside: ``65534 <uid> 1``), and host root is not mapped.

The files the program must read are made readable by that user first
(:func:`share_read_only`: the platform's own ``/code`` and ``/task`` files, written under
the worker's ``077`` umask). A worker that is not root runs bwrap as itself (its own uid is
already unprivileged) and needs none of this.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

NOBODY = 65534
STAGE = "/tmp"  # noqa: S108 - a tmpfs of the child's own mount namespace, not the host's /tmp
SHARE_ENTRIES = 1_000_000  # what share_read_only() visits at most (the platform's own files)
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


@dataclass(frozen=True)
class HostUser:
    """The unprivileged host user a root worker's sandboxes run as."""

    uid: int = NOBODY
    gid: int = NOBODY

    def drop(self) -> None:
        """In the child: become this user, with no supplementary groups (irrevocably)."""
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)


def host_user(uid: int | None = None, gid: int | None = None) -> HostUser | None:
    """The user sandboxes run as on this worker: None when the worker is not root (bwrap
    runs as the worker's own unprivileged user), else ``uid``/``gid`` (default nobody)."""
    if os.geteuid() != 0:
        return None
    uid = NOBODY if uid is None else int(uid)
    if uid == 0:
        raise ValueError("the sandbox's host uid must not be 0 (root)")
    return HostUser(uid=uid, gid=uid if gid is None else int(gid))


@dataclass
class Staging:
    """Host paths bwrap binds, shown again at ``/tmp/<n>`` in the child's own mount namespace
    (see the module docstring); ``source()`` is the path bwrap is given."""

    paths: list[Path] = field(default_factory=list)
    # Loaded here, in the worker: the child calls it after fork, where a dlopen could wait
    # on a lock another thread of the worker held.
    libc: ctypes.CDLL = field(default_factory=lambda: _libc(), repr=False)

    def source(self, path: Path) -> str:
        if path not in self.paths:
            self.paths.append(path)
        return f"{STAGE}/{self.paths.index(path)}"

    def prepare(self) -> None:
        """In the child (root, single-threaded, before the uid drop)."""
        libc = self.libc
        _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        # Opened in the new namespace, before the tmpfs hides what may lie under /tmp.
        fds = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in self.paths]
        _check(
            libc.mount(
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
            _check(libc.mount(source, target.encode(), None, MS_BIND | MS_REC, None), "bind")
            os.close(fd)


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    libc.unshare.argtypes = [ctypes.c_int]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def share_read_only(folder: Path, limit: int = SHARE_ENTRIES) -> None:
    """Let every user read ``folder`` and what is in it (folders ``+rx``, files ``+r``; links
    are left alone and never followed). An iterative walk of the platform's own files, at
    most ``limit`` entries; the folder is the run's own, inside the worker's private one."""
    stack, seen = [folder], 0
    while stack:
        current = stack.pop()
        try:
            info = os.lstat(current)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _add_mode(current, info.st_mode, 0o555)
            try:
                with os.scandir(current) as entries:
                    for entry in entries:
                        seen += 1
                        if seen > limit:
                            return
                        stack.append(Path(entry.path))
            except OSError:
                continue
        elif stat.S_ISREG(info.st_mode):
            _add_mode(current, info.st_mode, 0o444)


def _add_mode(path: Path, mode: int, bits: int) -> None:
    if stat.S_IMODE(mode) & bits != bits:
        # A read-only bind of the platform's: readable already, or not ours to change.
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IMODE(mode) | bits)
