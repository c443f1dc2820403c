"""Wording of the problems a refused bundle lists: quoted examples and plurals."""

from __future__ import annotations

from collections.abc import Iterable

EXAMPLES = 5


def examples(values: Iterable[object], limit: int = EXAMPLES, *, total: int | None = None) -> str:
    """Quote up to ``limit`` values: ``'a', 'b' and 7 more`` (numbers such as rows unquoted).

    ``total`` is the count when ``values`` holds only the first few of them.
    """
    items = list(values)
    shown = ", ".join(str(v) if isinstance(v, int) else repr(_short(str(v))) for v in items[:limit])
    rest = (len(items) if total is None else total) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def plural(count: int, word: str) -> str:
    """``1 row``, ``3 rows``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
