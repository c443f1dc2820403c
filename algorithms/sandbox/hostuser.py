"""Who a sandboxed program is on the host: never root.

bwrap maps the sandbox's user (65534 inside) to the host uid that *started* bwrap. A worker
that runs as root (this machine's tests, the CI) would so make every algorithm host root in
a user namespace: harmless while the namespaces hold, but one kernel bug away from the host.
So a root worker never starts bwrap as root. In the run's launcher (:mod:`.launcher_child`),
before bwrap is executed:

1. the launcher joins the run's cgroup and sets its rlimits (as root: cgroup files are root's);
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
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from algorithms.sandbox.launcher_child import STAGE, drop

NOBODY = 65534
SHARE_ENTRIES = 1_000_000  # what share_read_only() visits at most (the platform's own files)


@dataclass(frozen=True)
class HostUser:
    """The unprivileged host user a root worker's sandboxes run as."""

    uid: int = NOBODY
    gid: int = NOBODY

    def drop(self) -> None:
        """In the child: become this user, with no supplementary groups (irrevocably)."""
        drop(self.uid, self.gid)


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
    """Host paths bwrap binds, shown again at ``/tmp/<n>`` in the launcher's own mount
    namespace (see the module docstring; :func:`.launcher_child.stage` binds them);
    ``source()`` is the path bwrap is given."""

    paths: list[Path] = field(default_factory=list)

    def source(self, path: Path) -> str:
        if path not in self.paths:
            self.paths.append(path)
        return f"{STAGE}/{self.paths.index(path)}"


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
