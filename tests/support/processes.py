"""The process tree of a command under test: what it started, and whether any of it is left."""

from __future__ import annotations

import time

import psutil
import pytest


def descendants(pid: int) -> list[psutil.Process]:
    """Every process below ``pid`` now (children of children included, whatever their
    session), each remembered with its start time so that a reused pid is not mistaken."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie waiting for its parent counts as gone)."""
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(process)
        except psutil.NoSuchProcess:
            continue
    return left


def describe(processes: list[psutil.Process]) -> str:
    lines = []
    for process in processes:
        try:
            lines.append(f"{process.pid}: {' '.join(process.cmdline())[:160]}")
        except psutil.Error:
            lines.append(f"{process.pid}: (gone)")
    return "\n".join(lines)


def wait_all_gone(processes: list[psutil.Process], *, timeout: float, what: str) -> None:
    """Fail, naming the survivors, unless every one of ``processes`` has exited in time."""
    deadline = time.monotonic() + timeout
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        pytest.fail(f"{what}: still running after {timeout:.0f} s:\n{describe(left)}")


def child_running(pid: int, *words: str) -> bool:
    """Whether a descendant of ``pid`` has every one of ``words`` in its command line."""
    for process in descendants(pid):
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if all(word in command for word in words):
            return True
    return False
