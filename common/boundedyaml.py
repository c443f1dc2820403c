"""YAML a stranger wrote, read within bounds: its size, its nesting depth, its node count,
and no anchors or aliases, each checked while the document is composed, before any
recursion can go deep or any structure grow large. The one home of every YAML a team
writes (``task.yaml``, ``algorithm.yaml``).

Why each bound (issues 41 and 51):

- PyYAML's scanner and parser keep their state in lists, but its composer (and the C one)
  recurses once per nesting level: ``[[[[...]]]]`` 30,000 deep is a ``RecursionError`` (a
  500 and a 2,800-line traceback per request, seen). The composer counts the depth and
  refuses at ``max_depth``.
- An alias (``*name``) lets a few hundred bytes stand for an exponentially large value:
  ``a1: &a1 [*a0 x 10]``... eight levels deep is 10^8 strings, and any code that walks or
  prints it (an error message quoting the value did) takes gigabytes. An anchor
  (``&name``) has no use without an alias; both are refused where they are met, with the
  line, before the value is built.
- Each node costs about 0.6 KB while composed and constructed (a 600 KB flat list of
  300,000 numbers took 190 MB and 28 s): ``max_nodes`` bounds the memory and the time of a
  parse by ``max_nodes`` x that, whatever the text's size.
- ``max_chars`` bounds the scalars' total size (and so the scan's time, which is linear).
- An integer of more than 4,300 digits is Python's ``ValueError``, not a YAML error: it
  is reported as a YAML error at its line.

So a parse in the web process takes at most about ``max_chars`` x a small constant plus
``max_nodes`` x 0.6 KB of memory (20,000 nodes: about 12 MB, 0.5 s), which is what lets a
request parse a team's document in-process.

:func:`load` raises :class:`YamlBoundExceeded` (a ``yaml.MarkedYAMLError`` with a line and
a column, like any other YAML error) for a bound, so callers keep one ``except
yaml.YAMLError``. Tags are SafeLoader's (plain values only).
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 32
MAX_NODES = 20_000


class YamlBoundExceeded(yaml.MarkedYAMLError):
    """The document is deeper, larger or has more nodes than allowed, or holds an anchor
    or an alias."""


class _BoundedLoader(yaml.SafeLoader):
    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlBoundExceeded(
                problem="anchors (&name) and aliases (*name) are not accepted here;"
                " write each value out",
                problem_mark=event.start_mark,
            )
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise YamlBoundExceeded(
                problem=f"more than {self.max_nodes:,} values (nodes)",
                problem_mark=event.start_mark,
            )
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise YamlBoundExceeded(
                    problem=f"nested more than {self.max_depth} levels deep",
                    problem_mark=event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:  # int("1" * 5000): Python's digit limit
            raise YamlBoundExceeded(
                problem=f"a value that cannot be read ({str(exc)[:100]})",
                problem_mark=node.start_mark,
            ) from None


def load(
    text: str, *, max_chars: int, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> Any:
    """``yaml.safe_load(text)`` within bounds (see the module); raises ``yaml.YAMLError``
    (a :class:`YamlBoundExceeded` for a bound) for any document it does not accept."""
    if len(text) > max_chars:
        raise YamlBoundExceeded(problem=f"longer than {max_chars:,} characters")
    loader_class = type(
        "BoundedLoader", (_BoundedLoader,), {"max_depth": max_depth, "max_nodes": max_nodes}
    )
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
