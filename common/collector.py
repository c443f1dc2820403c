"""The cyclic garbage collector paused for a block that makes many objects and frees few."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block, on again after (if it was on).

    Building an answer out of thousands of cached objects (a transfer matrix's 20,000
    cells read from their columns) sets off collection after collection, each walking the
    whole heap to free next to nothing: a third of a new cell's answer. What the block
    leaves as garbage is collected as usual once the collector is on again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
