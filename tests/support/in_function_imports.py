"""Every import inside a function of the product's modules: what
tests/platform_tests/test_in_function_imports.py holds against the documented list
(docs/decisions/0038-in-function-imports.toml)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIST = REPO / "docs" / "decisions" / "0038-in-function-imports.toml"


def product_apps(root: Path = REPO) -> list[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c.get("type") == "layers"]
    return [layer.strip("()") for layer in layers]


def imports_in_functions(path: Path, rel: str) -> list[tuple[str, str]]:
    """``(where, module)`` of each import inside a function of ``path``: ``where`` is
    ``rel:Qualified.name`` (the innermost function), ``module`` as written (dots kept)."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, scope: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{scope}.{child.name}" if scope else child.name
                is_function = in_function or not isinstance(child, ast.ClassDef)
                visit(child, name, is_function)
            elif isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                if isinstance(child, ast.ImportFrom):
                    modules = ["." * child.level + (child.module or "")]
                else:
                    modules = [alias.name for alias in child.names]
                found.extend((f"{rel}:{scope}", module) for module in modules)
            else:
                visit(child, scope, in_function)

    visit(ast.parse(path.read_text(encoding="utf-8")), "", False)
    return found


def product_imports_in_functions(root: Path = REPO) -> list[tuple[str, str]]:
    return [
        hit
        for app in product_apps(root)
        for path in sorted((root / app).rglob("*.py"))
        if "migrations" not in path.parts
        for hit in imports_in_functions(path, path.relative_to(root).as_posix())
    ]


def documented(path: Path = LIST) -> tuple[dict[str, str], list[dict[str, str]]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return data["reasons"], data["import"]
