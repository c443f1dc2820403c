"""Run a few pieces of numpy or pyarrow work at once, on as many threads as Arrow uses.

numpy's loops, fancy indexing and ``bincount`` and pyarrow's kernels release the
interpreter lock, so two threads score a large submission in about half the time on two
free cores. The pool has ``pyarrow.cpu_count()`` threads (what a worker sets for Arrow's
own reading), is made on first use in each process (a forked worker gets its own), and
is only used for work big enough to pay for the hand-over (``worth_splitting``).

Work already running on the pool runs its own pieces one after the other, so a piece
never waits for a pool thread it holds (no deadlock), and there are never more busy
threads than the pool's size.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

import pyarrow as pa

T = TypeVar("T")

MIN_SPLIT_ELEMENTS = 1 << 18  # below this, one thread is as fast as a hand-over

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_inside = threading.local()


def threads() -> int:
    """Threads available to one piece of work: 1 on the pool itself, else Arrow's count."""
    if getattr(_inside, "pool", False):
        return 1
    return max(1, pa.cpu_count())


def worth_splitting(elements: int) -> bool:
    """Whether work over ``elements`` values gains from more than one thread here."""
    return elements >= MIN_SPLIT_ELEMENTS and threads() > 1


def _mark_pool_thread() -> None:
    _inside.pool = True


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(
                max_workers=max(1, pa.cpu_count() - 1),
                thread_name_prefix="parallel",
                initializer=_mark_pool_thread,
            )
            _pool_pid = os.getpid()
        return _pool


def run_all(calls: Sequence[Callable[[], T]], *, elements: int | None = None) -> list[T]:
    """Each call's result, in order: the first on this thread, the others on the pool
    (all here when there is one thread, or when the work's ``elements`` are too few to be
    worth it). Once done with the first, this thread also runs the calls no pool thread
    has started yet, so uneven pieces even out.

    An exception is raised here only after every started call has ended (no piece
    outlives the caller's arrays); the first call's exception comes before any other, and
    then the pieces' in their order."""
    serial = threads() == 1 or (elements is not None and not worth_splitting(elements))
    if len(calls) <= 1 or serial:
        return [call() for call in calls]
    pool = _executor()
    futures: list[Future[T]] = [pool.submit(call) for call in calls[1:]]
    here: dict[int, T] = {}
    try:
        first = calls[0]()
        for index, future in enumerate(futures):
            if future.cancel():  # not started: no pool thread is free, run it here
                here[index] = calls[index + 1]()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        wait(futures)
    return [first, *(here[i] if i in here else f.result() for i, f in enumerate(futures))]


def split_rows(n: int, parts: int, align: int = 1) -> list[slice]:
    """``parts`` contiguous slices covering ``range(n)``, each boundary a multiple of
    ``align`` (a block size), none empty."""
    if parts <= 1 or n <= align:
        return [slice(0, n)]
    blocks = -(-n // align)
    per_part = -(-blocks // parts)
    bounds = [min(n, i * per_part * align) for i in range(parts + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def row_parts(
    n: int, *, per_row: int = 1, align: int = 1, most: int | None = None
) -> list[slice]:
    """``range(n)`` in parts for the threads when the ``n * per_row`` values are worth it
    (one part otherwise): twice as many parts as threads, none under
    ``MIN_SPLIT_ELEMENTS``, so that a thread slowed by other work leaves its last part to
    another; at most ``most`` parts when given."""
    parts = 1
    if worth_splitting(n * per_row):
        parts = max(2, min(2 * threads(), n * per_row // MIN_SPLIT_ELEMENTS))
    if most is not None:
        parts = min(parts, most)
    return split_rows(n, parts, align)


def map_rows(
    function: Callable[[slice], T], n: int, *, per_row: int = 1, align: int = 1
) -> list[T]:
    """``function`` of each part of ``range(n)`` (:func:`row_parts`), on the threads."""
    parts = row_parts(n, per_row=per_row, align=align)
    return run_all([lambda rows=rows: function(rows) for rows in parts])
