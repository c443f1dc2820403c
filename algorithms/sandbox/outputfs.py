"""``/output``: a tmpfs of the sandbox's own, which the host measures in O(1) and copies out.

bwrap mounts ``/output`` as a **tmpfs of ``output_mb``** inside the sandbox (``--size``
``--tmpfs``), on every path: the kernel refuses every block past the cap (``fallocate``
included, ``ENOSPC``), and the pages are charged to the run's memory cgroup where there is
one. The worker never mounts anything on the host for it, so nothing can be left mounted
when the worker dies: the tmpfs lives as long as the sandbox's mount namespace or a
descriptor of it.

Before the program starts (bwrap waits on ``--block-fd``), :meth:`SandboxOutput.attach`
opens the tmpfs's root through ``/proc/<program>/root/output`` and keeps that descriptor:

- **What it holds** is one ``fstatvfs`` of it (:meth:`SandboxOutput.usage`): blocks and
  inodes as the kernel counts them, whatever the algorithm wrote (a million files or a
  thousand nested folders cost the watcher nothing more).
- **While the run is alive** the run's host folder is a link to that descriptor
  (``/proc/<worker>/fd/<n>``), so the host reads what the run wrote as it writes it (the
  baseline's fit log is followed there).
- **When the run has ended** the link is replaced by a folder and the top level of the
  tmpfs is copied into it (:meth:`SandboxOutput.copy_out`): regular files within the cap,
  links, FIFOs and folders recreated empty (so the output reader still sees what the run
  left and refuses it by name), at most ``COPY_ENTRIES`` entries; nothing below the top is
  ever walked. Then the descriptor is closed and the kernel frees the tmpfs.

:func:`detach_stale` only sweeps the host tmpfs mounts an older release mounted on run
folders (``sandbox-output-<pid>-<hex>``) whose worker is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from algorithms.sandbox.host import mounts, pid_alive

SANDBOX_OUTPUT = "/output"
MAX_INODES = 100_000  # files and folders a run may create in /output
COPY_ENTRIES = 10_000  # top-level entries copied out after a run
ATTACH_POLL_SECONDS = 0.002
MNT_DETACH = 2
LEGACY_SOURCE_PREFIX = "sandbox-output-"
_LEGACY = re.compile(rf"{LEGACY_SOURCE_PREFIX}(\d+)-[0-9a-f]{{12}}")


class OutputUnavailable(Exception):
    """The sandbox ended, or never mounted its ``/output``, before the host could open it."""


@dataclass(frozen=True)
class OutputUsage:
    bytes: int  # allocated blocks
    inodes: int  # files, folders, links... (the root folder included)


@dataclass
class SandboxOutput:
    """The descriptor of one run's ``/output`` tmpfs (see the module docstring)."""

    fd: int
    size_bytes: int
    shown_at: Path | None = None

    @classmethod
    def attach(
        cls, pid: int, size_bytes: int, *, alive: Callable[[], bool], timeout: float = 60.0
    ) -> SandboxOutput:
        """Open ``/output`` of the sandboxed process ``pid`` (waiting, while ``alive()``, for
        bwrap to finish its mounts); check it is the tmpfs of ``size_bytes`` bwrap made."""
        deadline = time.monotonic() + timeout
        path = f"/proc/{pid}/root{SANDBOX_OUTPUT}"
        while True:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                fd = -1
            if fd >= 0:
                info = os.fstatvfs(fd)
                if info.f_blocks * info.f_frsize == _pages(size_bytes):
                    return cls(fd=fd, size_bytes=size_bytes)
                os.close(fd)  # the host's root, before bwrap's pivot: not yet
            if not alive() or time.monotonic() > deadline:
                raise OutputUnavailable(f"the sandbox's {SANDBOX_OUTPUT} could not be opened")
            time.sleep(ATTACH_POLL_SECONDS)

    def usage(self) -> OutputUsage:
        """What the tmpfs holds now: one system call."""
        info = os.fstatvfs(self.fd)
        return OutputUsage(
            bytes=(info.f_blocks - info.f_bfree) * info.f_frsize,
            inodes=info.f_files - info.f_ffree,
        )

    def show_at(self, folder: Path) -> None:
        """Make ``folder`` (empty or absent) show the live tmpfs until :meth:`copy_out`."""
        with contextlib.suppress(FileNotFoundError):
            folder.rmdir()
        folder.symlink_to(f"/proc/{os.getpid()}/fd/{self.fd}")
        self.shown_at = folder

    def copy_out(self, folder: Path, cap: int) -> str | None:
        """Copy the top level into the host folder ``folder`` (at most ``cap`` bytes), close
        the descriptor; the reason when not all of it was copied (it was over a limit)."""
        try:
            if self.shown_at is not None:
                self.shown_at.unlink(missing_ok=True)
                self.shown_at = None
            folder.mkdir(exist_ok=True)
            return _copy_top_level(self.fd, folder, cap)
        finally:
            self.close()

    def close(self) -> None:
        """Forget the tmpfs without copying anything (the run is abandoned)."""
        if self.shown_at is not None:
            self.shown_at.unlink(missing_ok=True)
            self.shown_at.mkdir(exist_ok=True)
            self.shown_at = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _pages(size: int) -> int:
    page = os.sysconf("SC_PAGE_SIZE")
    return -(-size // page) * page


def _copy_top_level(source_fd: int, dest: Path, cap: int) -> str | None:
    over, remaining = None, cap
    with os.scandir(source_fd) as entries:
        for count, entry in enumerate(entries):
            if count >= COPY_ENTRIES:
                return f"/output held more than {COPY_ENTRIES:,} entries at its top level"
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            size = max(info.st_size, info.st_blocks * 512)
            if stat.S_ISREG(info.st_mode) and size > remaining:
                over = "the files in /output add up to more than the limit (by their sizes)"
                continue
            with contextlib.suppress(OSError):  # an entry that cannot be copied is not kept
                remaining -= _copy_entry(source_fd, entry.name, info, dest)
    return over


def _copy_entry(source_fd: int, name: str, info: os.stat_result, dest: Path) -> int:
    """Recreate one top-level entry in ``dest``; the bytes copied."""
    target = os.path.join(dest, name)
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return _copy_file(source_fd, name, target, info.st_size)
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(name, dir_fd=source_fd), target)
    elif stat.S_ISDIR(mode):
        os.mkdir(target, 0o755)
    elif stat.S_ISFIFO(mode):
        os.mkfifo(target, 0o644)
    return 0


def _copy_file(source_fd: int, name: str, target: str, size: int) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    source = os.open(name, flags, dir_fd=source_fd)
    try:
        if not stat.S_ISREG(os.fstat(source).st_mode):
            return 0
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            copied = 0
            while copied < size:
                sent = os.sendfile(out, source, copied, min(size - copied, 1 << 24))
                if sent <= 0:
                    break
                copied += sent
            return copied
        finally:
            os.close(out)
    finally:
        os.close(source)


def detach_stale() -> list[Path]:
    """Detach the host output tmpfs mounts an older release left (its worker gone); return
    their mount points."""
    detached = []
    for mount in mounts():
        owner = _LEGACY.fullmatch(mount.source) if mount.fstype == "tmpfs" else None
        if owner is None or pid_alive(int(owner[1])):
            continue
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.umount2(os.fsencode(mount.point), MNT_DETACH) == 0:
            detached.append(mount.point)
    return detached
