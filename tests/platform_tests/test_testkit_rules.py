"""The tests and the benches share helpers through ``testkit/``, not through each other
(docs/decisions/0079-testkit.md):

- no module of ``bench/`` imports ``tests`` (a bench imports ``testkit``);
- no module of ``tests/`` or ``bench/`` imports a ``conftest`` module (pytest loads a
  conftest as a plugin: a conftest keeps fixtures, and the helpers live in plain modules:
  ``tests/support/<name>.py`` or a folder's helper module for the tests alone, ``testkit``
  for what a bench uses too; a fixture several folders use lives in ``tests/support`` and
  each conftest imports it, or in ``tests/conftest.py``).

Each check has a planted case that must fail. (That product code never imports ``testkit``,
``tests`` or ``bench`` is an import-linter contract in ``pyproject.toml``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def imported_modules(source: str, *, package: str) -> set[str]:
    """Every module ``source`` imports (relative imports resolved against ``package``), and
    each ``from X import name`` also as ``X.name`` (a submodule imported by name)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1] if node.level > 1 else parts
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules(root: Path, folders: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """relative path -> (source, package) of every Python module under ``folders``."""
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root)
            package = ".".join(relative.parent.parts)
            found[relative.as_posix()] = (path.read_text(encoding="utf-8"), package)
    return found


def bench_importing_tests(root: Path = REPO) -> list[str]:
    return sorted(
        name
        for name, (source, package) in _modules(root, ("bench",)).items()
        if any(
            m == "tests" or m.startswith("tests.")
            for m in imported_modules(source, package=package)
        )
    )


def conftest_importers(root: Path = REPO) -> list[str]:
    def imports_conftest(source: str, package: str) -> bool:
        return any(
            m.split(".")[-1] == "conftest" or ".conftest." in f".{m}."
            for m in imported_modules(source, package=package)
        )

    return sorted(
        name
        for name, (source, package) in _modules(root, ("tests", "bench")).items()
        if imports_conftest(source, package)
    )


def test_no_bench_imports_the_tests() -> None:
    assert bench_importing_tests() == [], "bench modules importing tests (use testkit)"


def test_no_module_imports_a_conftest() -> None:
    assert conftest_importers() == [], (
        "modules importing a conftest (move the helper to a plain module: tests/support, the "
        "folder's helpers, or testkit when a bench uses it too)"
    )


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checks_see_a_planted_import(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "bench/bench_a.py": "from tests.algorithms_tests.archives import make_zip\n",
            "bench/bench_b.py": "import tests.support.broker\n",
            "bench/bench_c.py": "from testkit.archives import make_zip\n",
            "bench/bench_d.py": "from tests import support\n",
            "tests/a_tests/test_x.py": "from tests.a_tests.conftest import helper\n",
            "tests/a_tests/test_y.py": "from .conftest import helper\n",
            "tests/a_tests/test_z.py": "from . import conftest\n",
            "tests/a_tests/test_w.py": "import conftest\n",
            "tests/a_tests/test_ok.py": "from testkit.bundles import write_matching_bundle\n",
            "bench/bench_e.py": "from tests.conftest import x\n",
        },
    )
    assert bench_importing_tests(root) == [
        "bench/bench_a.py",
        "bench/bench_b.py",
        "bench/bench_d.py",
        "bench/bench_e.py",
    ]
    assert conftest_importers(root) == [
        "bench/bench_e.py",
        "tests/a_tests/test_w.py",
        "tests/a_tests/test_x.py",
        "tests/a_tests/test_y.py",
        "tests/a_tests/test_z.py",
    ]
