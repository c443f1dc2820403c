"""``Behind``: one call at a time on a thread of its own, in order, while the caller goes on.

The bundle import's passes hand each batch to a few such stages (the validation's column
profiles, the CSV writer, the card) while the main thread reads the next batch and writes
its Parquet: pyarrow releases the interpreter lock in its kernels, so the stages use the
cores the reading leaves. Each stage holds at most one batch waiting, so memory stays a few
batches whatever the file's size; an error surfaces at the next ``run`` or ``wait``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Behind:
    """Runs ``call(item)`` on a thread of its own, in the order given, at most one waiting."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-{name}")
        self._pending: Future[None] | None = None

    def run(self, call: Callable[[Any], None], item: Any) -> None:
        """Wait for the call before, then start ``call(item)``."""
        self.wait()
        self._pending = self._pool.submit(call, item)

    def wait(self) -> None:
        """Wait for the last call (its error, if any, is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def shutdown(self) -> None:
        """Wait for the last call and stop the thread (an error of that call is dropped)."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Behind:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self.shutdown()
