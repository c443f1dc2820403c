"""Wording of the problems a refused bundle lists and an operator reads: quoted examples,
plurals, an error in one line."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable

EXAMPLES = 5
QUOTE_MAX = 100  # characters of a value a message may quote (issue 51)


def _bounded_repr() -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxlevel = 3
    shown.maxstring = shown.maxother = QUOTE_MAX
    shown.maxlong = 40
    shown.maxlist = shown.maxtuple = shown.maxdict = shown.maxset = shown.maxfrozenset = 6
    return shown


_REPR = _bounded_repr()


def quote(value: object, limit: int = QUOTE_MAX) -> str:
    """``repr(value)`` cut to at most ``limit`` characters (``'abc…'``), visiting only the
    first few items of a container and a few levels of nesting, so quoting a value a stranger
    wrote costs the same whatever its size. Every message that shows such a value uses it."""
    short = isinstance(value, str) and len(value) <= limit
    text = repr(value) if short else _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def first_line(exc: BaseException) -> str:
    """An error's first line of text, or its type's name when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
