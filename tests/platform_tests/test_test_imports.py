"""Test support in one place: no test module imports another test module.

Shared helpers live in ``tests/support/`` (the real parts: broker, worker, browser, ...) or
in a folder's non-test modules (``factories.py``, ``<topic>_helpers.py``), and fixtures that
several modules use in the folder's ``conftest.py``. Importing a ``test_*.py`` module runs
its collection-time code again and couples two test files; this test walks every module
under ``tests/`` and refuses any import of a ``test_*`` module.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_imports(path: Path) -> list[str]:
    """The ``test_*`` modules that ``path`` imports (absolute or relative)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            names = [a.name for a in node.names]
            if parts[-1].startswith("test_") or any(
                n.startswith("test_") for n in names if node.module is None or node.level
            ):
                found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(part.startswith("test_") for part in alias.name.split(".")):
                    found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}")
    return found


test_imports.__test__ = False  # a helper, not a test


def test_no_test_module_imports_another() -> None:
    found = [hit for path in sorted(TESTS.rglob("*.py")) for hit in test_imports(path)]
    assert not found, "a test module imported from another one:\n" + "\n".join(found)


def test_the_checker_refuses_every_form(tmp_path: Path) -> None:
    planted = TESTS / "platform_tests"  # relative_to needs a path under tests/
    cases = [
        "from tests.scoring_tests.test_x import helper\n",
        "from .test_x import helper\n",
        "from . import test_x\n",
        "import tests.scoring_tests.test_x\n",
    ]
    for source in cases:
        path = planted / "_planted_import_check.py"
        path.write_text(source)
        try:
            assert test_imports(path), source
        finally:
            path.unlink()
    path = planted / "_planted_import_check.py"
    path.write_text("from tests.support.broker import queue_length\nfrom .factories import x\n")
    try:
        assert test_imports(path) == []
    finally:
        path.unlink()
