"""Small facts about the host the sandbox needs in several places: is a process alive (and
when it started), and what is mounted where (``/proc/self/mountinfo``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_ESCAPES = (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\"))


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat`` field 22),
    or None when there is no such process: with the pid, it names one process even after
    the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name may hold spaces and parentheses
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def host_memory_mb() -> int:
    """The memory this process's host (or container) has: ``MemTotal``, lowered by the
    memory limit of this process's cgroup (v2 ``memory.max``, v1 ``memory.limit_in_bytes``)
    when it has one."""
    total = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) // 1024
                break
    except (OSError, ValueError, IndexError):
        total = 0
    for limit in _cgroup_memory_limits():
        if 0 < limit < total or not total:
            total = limit
    return total


def _cgroup_memory_limits() -> list[int]:
    limits = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return limits
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates = [Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.max"]
        elif "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory")
            candidates = [base / path.lstrip("/") / "memory.limit_in_bytes"]
        else:
            continue
        for candidate in candidates:
            try:
                text = candidate.read_text().strip()
            except OSError:
                continue
            if text.isdigit() and int(text) < 1 << 50:
                limits.append(int(text) // (1024 * 1024))
    return limits


@dataclass(frozen=True)
class Mount:
    root: str  # the folder of the filesystem mounted here (a cgroup path for cgroupfs)
    point: Path
    fstype: str
    source: str
    options: tuple[str, ...]  # the superblock's options (for cgroup v1: its controllers)


def mounts(text: str | None = None) -> list[Mount]:
    """The mounts in ``text`` (default: this process's ``/proc/self/mountinfo``)."""
    if text is None:
        try:
            text = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return []
    found = []
    for line in text.splitlines():
        head, _, tail = line.partition(" - ")
        fields, tail_fields = head.split(), tail.split()
        if len(fields) < 5 or len(tail_fields) < 3:
            continue
        found.append(
            Mount(
                root=_unescape(fields[3]),
                point=Path(_unescape(fields[4])),
                fstype=tail_fields[0],
                source=_unescape(tail_fields[1]),
                options=tuple(tail_fields[2].split(",")),
            )
        )
    return found


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    for code, char in _ESCAPES:
        text = text.replace(code, char)
    return text
