"""Small facts about the host the sandbox needs in several places: is a process alive, and
what is mounted where (``/proc/self/mountinfo``)."""

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
