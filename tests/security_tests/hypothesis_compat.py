"""Let hypothesis-jsonschema 0.23.1 (schemathesis 3.x) run on the locked Hypothesis.

hypothesis-jsonschema drives ``hypothesis.internal.conjecture.utils.many`` through its old
``more()`` method, which recent Hypothesis replaced by ``with many(...) as e: for _ in e``;
every object schema then fails with "'many' object has no attribute 'more'". ``more()`` is
re-added here on top of the new internals, doing what the old one did: close the previous
element's span, decide whether to draw another, and open its span.
"""

from __future__ import annotations

from hypothesis.internal.conjecture import utils as cu


def _more(self: cu.many) -> bool:
    if self._depth is None:  # what ``__enter__`` records
        self._depth = self.data.depth
    self._finish_element()
    if not self._decide():
        self._closed = True
        return False
    self.count += 1
    self._in_element = True
    self._rejected = False
    return True


def install() -> None:
    if not hasattr(cu.many, "more"):
        cu.many.more = _more
