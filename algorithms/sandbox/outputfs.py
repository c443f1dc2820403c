"""``/output`` as a filesystem of its own, and what a run's output costs the host's disk.

A folder of the host's disk counts file sizes, not blocks: ``fallocate`` with
``FALLOC_FL_KEEP_SIZE`` reserves gigabytes that neither ``st_size`` nor ``RLIMIT_FSIZE``
shows. So where the worker may mount (root), a run's ``/output`` is a **tmpfs of
``output_mb``** mounted on the run's host folder before the sandbox starts: the kernel refuses
every block past the cap (``fallocate`` included, ``ENOSPC``), the pages are charged to the
run's memory cgroup (they are part of its memory budget), and the host can read the folder
while the run is alive (the baseline follows its fit log there). When the run has ended the
tmpfs is detached from the folder (``MNT_DETACH``; an open descriptor keeps its contents),
its top level copied into the host folder underneath (regular files within the cap;
links, FIFOs and folders recreated empty, so the output reader still sees what the run
left and refuses it by name), and freed. Nothing of it stays mounted after :func:`release`.

A tmpfs is named ``sandbox-output-<worker pid>-<hex>``; one left mounted by a killed
worker is detached by the next run on the host (its owner is gone).

Where the worker may not mount, ``/output`` stays the host folder and the backend's watcher
sums :func:`usage`, which counts allocated blocks as well as sizes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from algorithms.sandbox.host import mounts, pid_alive

MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2
MAX_INODES = 100_000  # files and folders a run may create in /output
MAX_ENTRIES = 100_000  # what usage() walks before it calls the folder over any cap
COPY_ENTRIES = 10_000  # top-level entries copied out after a run
SOURCE_PREFIX = "sandbox-output-"
_OWNED = re.compile(rf"{SOURCE_PREFIX}(\d+)-[0-9a-f]{{12}}")
OVER = 1 << 62  # an entry flood counts as over any cap


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


def usage(path: Path, limit_entries: int = MAX_ENTRIES) -> int:
    """Bytes a folder costs: per entry the larger of its size and its allocated blocks (a
    ``fallocate``d file has blocks and no size; a sparse one a size and no blocks)."""
    total, seen = 0, 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            seen += 1
            if seen > limit_entries:
                return OVER
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(root, name))
                total += max(info.st_size, info.st_blocks * 512)
    return total


@dataclass
class OutputTmpfs:
    """A size-capped tmpfs on a run's host output folder (see the module docstring)."""

    path: Path
    source: str
    root_fd: int

    @classmethod
    def mount(cls, path: Path, size_bytes: int) -> OutputTmpfs | None:
        """Mount it, or None when this worker may not mount (then the host folder is used)."""
        detach_stale()
        path.mkdir(parents=True, exist_ok=True)
        source = f"{SOURCE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        options = f"size={max(size_bytes, 4096)},nr_inodes={MAX_INODES},mode=0755"
        libc = _libc()
        if libc.mount(
            source.encode(), os.fsencode(path), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()
        ):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            libc.umount2(os.fsencode(path), MNT_DETACH)
            raise
        return cls(path=path, source=source, root_fd=fd)

    def release(self, cap: int) -> bool:
        """Detach, copy the top level into the host folder (at most ``cap`` bytes), free the
        tmpfs. True when the output was over ``cap`` (sparse sizes count), so not all of it
        was copied."""
        self._detach()
        try:
            return _copy_top_level(self.root_fd, self.path, cap)
        finally:
            self.discard()

    def discard(self) -> None:
        """Detach and free without copying anything (the run is abandoned)."""
        self._detach()
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1

    def _detach(self) -> None:
        if _mounted(self.source):
            _libc().umount2(os.fsencode(self.path), MNT_DETACH)


def _mounted(source: str) -> bool:
    return any(m.source == source and m.fstype == "tmpfs" for m in mounts())


def detach_stale() -> list[Path]:
    """Detach the output tmpfs mounts of workers that are gone; return their mount points."""
    detached = []
    for mount in mounts():
        owner = _OWNED.fullmatch(mount.source) if mount.fstype == "tmpfs" else None
        if owner is None or pid_alive(int(owner[1])):
            continue
        if _libc().umount2(os.fsencode(mount.point), MNT_DETACH) == 0:
            detached.append(mount.point)
    return detached


def _copy_top_level(source_fd: int, dest: Path, cap: int) -> bool:
    over, remaining = False, cap
    with os.scandir(source_fd) as entries:
        for count, entry in enumerate(entries):
            if count >= COPY_ENTRIES:
                return True
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            target = os.path.join(dest, entry.name)
            mode = info.st_mode
            if stat.S_ISREG(mode):
                size = max(info.st_size, info.st_blocks * 512)
                if size > remaining:
                    over = True
                    continue
                remaining -= _copy_file(source_fd, entry.name, target, info.st_size)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(entry.name, dir_fd=source_fd), target)
            elif stat.S_ISDIR(mode):
                os.mkdir(target, 0o755)
            elif stat.S_ISFIFO(mode):
                os.mkfifo(target, 0o644)
    return over


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
