"""Imports inside functions only where a documented rule requires them, listed in one place:
docs/decisions/0038-in-function-imports.toml (the rules: docs/decisions/
0038-a-cold-command-imports-only-what-it-runs.md). A new one fails here until it is listed
with its reason; a listed one that became a top-level import fails here until it is struck."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.support.in_function_imports import (
    documented,
    imports_in_functions,
    product_imports_in_functions,
)


def test_every_import_inside_a_function_is_listed_with_its_reason() -> None:
    reasons, listed = documented()
    assert all(entry["reason"] in reasons for entry in listed), "a reason not in [reasons]"
    found = Counter(product_imports_in_functions())
    recorded = Counter((entry["where"], entry["module"]) for entry in listed)
    unlisted = sorted((found - recorded).elements())
    stale = sorted((recorded - found).elements())
    assert not unlisted, "imports inside functions not on the list:\n" + "\n".join(
        f"{where} imports {module}" for where, module in unlisted
    )
    assert not stale, "listed but no longer inside a function (strike them):\n" + "\n".join(
        f"{where} imports {module}" for where, module in stale
    )


def test_the_walker_names_the_innermost_function(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "import os\n"
        "def f():\n    from a import b\n    def g():\n        import c.d\n"
        "class K:\n    import e\n    def h(self):\n        from .x import y\n"
    )
    assert imports_in_functions(path, "app/m.py") == [
        ("app/m.py:f", "a"),
        ("app/m.py:f.g", "c.d"),
        ("app/m.py:K.h", ".x"),
    ]
