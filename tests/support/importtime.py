"""What ``python -X importtime`` says a process imported, as a tree: each module with the
modules its import brought in (tests/platform_tests/test_cold_start.py counts a cold
command's, docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

Python writes one line per module an import statement loads, a module's line after those of
the modules it imported, indented one step (two spaces) deeper. A module loaded by name
(``importlib.import_module``: Django's apps, models and management commands) has no line of
its own; the modules its import statements load do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass
class Imported:
    name: str
    cumulative_us: int
    children: list[Imported] = field(default_factory=list)

    @property
    def size(self) -> int:
        """This module and every module its import brought in."""
        return 1 + sum(child.size for child in self.children)


def imported_tree(stderr: str) -> list[Imported]:
    """The top-level imports (depth 0) of ``-X importtime``'s report, each with its tree."""
    pending: dict[int, list[Imported]] = {}
    for line in stderr.splitlines():
        found = _LINE.match(line)
        if found is None:
            continue  # the header, and whatever else the process wrote
        _, cumulative, indent, name = found.groups()
        depth = len(indent) // 2
        node = Imported(name, int(cumulative), pending.pop(depth + 1, []))
        pending.setdefault(depth, []).append(node)
    return pending.get(0, [])


def count(tree: list[Imported]) -> int:
    return sum(node.size for node in tree)


def biggest(tree: list[Imported], *, shown: int = 12) -> list[str]:
    """The top-level imports that brought in the most modules, with their two largest
    parts: ``kinds.base +97 (numpy +86, pyarrow +8)``."""
    lines = []
    for node in sorted(tree, key=lambda n: -n.size)[:shown]:
        parts = sorted(node.children, key=lambda n: -n.size)[:2]
        inside = ", ".join(f"{part.name} +{part.size}" for part in parts)
        lines.append(f"{node.name} +{node.size}" + (f" ({inside})" if inside else ""))
    return lines
