"""YAML a stranger wrote, read within bounds: its size, its nesting depth and (optionally) no
aliases, checked while the document is composed, before any recursion can go deep.

PyYAML's scanner and parser keep their state in lists, but its composer (and the C one)
recurses once per nesting level: ``[[[[...]]]]`` 30,000 deep is a ``RecursionError`` (a 500
and a 2,800-line traceback per request, seen). :func:`load` composes with a depth counter and
refuses at ``max_depth`` with a :class:`YamlBoundExceeded`, which is a ``yaml.YAMLError``
with a line and a column, like any other YAML error, so callers keep one ``except``. Tags
are SafeLoader's (plain values only). Aliases (``*name``), when refused, are refused as
they are met: a manifest has no use for them, and they let a small document stand for an
exponentially large one.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 32


class YamlBoundExceeded(yaml.MarkedYAMLError):
    """The document is deeper than allowed, holds an alias where none is allowed, or is
    larger than allowed."""


class _BoundedLoader(yaml.SafeLoader):
    max_depth = MAX_DEPTH
    aliases = True

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.aliases and self.check_event(yaml.AliasEvent):
            raise YamlBoundExceeded(
                problem="aliases (*name) are not accepted here",
                problem_mark=self.peek_event().start_mark,
            )
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise YamlBoundExceeded(
                    problem=f"nested more than {self.max_depth} levels deep",
                    problem_mark=self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load(
    text: str, *, max_chars: int, max_depth: int = MAX_DEPTH, aliases: bool = True
) -> Any:
    """``yaml.safe_load(text)`` within bounds; raises ``yaml.YAMLError`` (a
    :class:`YamlBoundExceeded` for a bound) for any document it does not accept."""
    if len(text) > max_chars:
        raise YamlBoundExceeded(problem=f"longer than {max_chars:,} characters")
    loader_class = type(
        "BoundedLoader", (_BoundedLoader,), {"max_depth": max_depth, "aliases": aliases}
    )
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
