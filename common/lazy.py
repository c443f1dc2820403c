"""A package's re-exported names resolved on first use (PEP 562's module ``__getattr__``).

Every process imports some packages at start only to reach one light module inside them
(the run profiles, the job types' neighbours); the package's ``__init__`` would otherwise
import every service it re-exports. :func:`lazy_exports` makes the module ``__getattr__``
that imports them when one of the names is first read, and keeps the name as a module
attribute from then on, so a hot path pays an attribute read, as with a plain import
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Receivers and tasks import
services at call time").
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any


def lazy_exports(
    module_name: str, names: Iterable[str], load: Callable[[], Iterable[ModuleType]]
) -> Callable[[str], Any]:
    """The ``__getattr__`` of module ``module_name`` for ``names``: the first of the modules
    ``load()`` imports (in its order) that has the name gives its value; any other name is an
    ``AttributeError``, as for a module without one."""
    wanted = frozenset(names)

    def __getattr__(name: str) -> Any:
        if name in wanted:
            for source in load():
                if hasattr(source, name):
                    value = getattr(source, name)
                    setattr(sys.modules[module_name], name, value)  # an attribute from now on
                    return value
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__
