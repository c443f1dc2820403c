"""Boards served from the cache under versioned keys (issue 15, "deadline rush").

A board's key holds a version counter of its task (or track) and what else changes the
cached value (the split, the kind of value). A refresh of a task's entries, or new bootstrap
intervals, bump the task's and its track's versions once their transaction commits
(:func:`bump_after_commit`), so the next read misses and rebuilds: never a stale board after
a score. Old keys are never deleted; they expire after ``BOARD_CACHE_SECONDS``.

What is cached is the same for every viewer: the rows of one split. Who may see the private
split is decided on every request *before* the cache is read (``selectors.split_requested``),
and whatever depends on the viewer (the page's navigation, staff links, CSRF) is rendered
per request. So one viewer's view is never served to another.

``BOARD_CACHE=0`` (setting ``BOARD_CACHE``) turns it off: every read computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

TASK = "task"
TRACK = "track"


def enabled() -> bool:
    return bool(getattr(settings, "BOARD_CACHE", True))


def _version_key(scope: str, pk: int) -> str:
    return f"leaderboard:board-version:{scope}:{pk}"


def _version(scope: str, pk: int) -> int:
    key = _version_key(scope, pk)
    value = cache.get(key)
    if value is None:
        # A counter lost (eviction, a new Redis) restarts from the clock, above any version
        # the old cached values could carry.
        cache.add(key, time.time_ns() // 1000, timeout=None)
        value = cache.get(key)
    return int(value)


def _bump(scope: str, pk: int) -> None:
    key = _version_key(scope, pk)
    try:
        cache.incr(key)
    except ValueError:  # absent: start from the clock (above any earlier version)
        if not cache.add(key, time.time_ns() // 1000, timeout=None):
            cache.incr(key)


def bump(*, task_id: int, track_id: int | None) -> None:
    """The boards of ``task_id`` (and of its track) changed: the next read rebuilds them."""
    _bump(TASK, task_id)
    if track_id is not None:
        _bump(TRACK, track_id)


def bump_after_commit(*, task_id: int, track_id: int | None) -> None:
    """:func:`bump` once the caller's transaction commits (at once outside one): a reader
    between the change and the commit would otherwise cache the old board under the new
    version."""
    transaction.on_commit(lambda: bump(task_id=task_id, track_id=track_id))


def cached(scope: str, pk: int, *parts: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept under ``scope``/``pk``'s current version and ``parts``.

    ``parts`` must name everything the value depends on besides the board's rows (the split,
    which rendering); nothing in it may depend on who is asking.
    """
    if not enabled():
        return compute()
    key = f"leaderboard:board:{scope}:{pk}:v{_version(scope, pk)}:{':'.join(parts)}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=settings.BOARD_CACHE_SECONDS)
    return value
