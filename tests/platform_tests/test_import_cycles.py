"""No module of the product imports, directly or through others, a module that imports it
back: the imports inside functions count too (grimp reads every import statement, as
import-linter does), so a cycle is cut by moving code where it belongs, never hidden by a
late import (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md). The layers
contract keeps the apps apart; this keeps each app's own modules apart."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import grimp

from tests.support.layers import layer_order

REPO = Path(__file__).resolve().parents[2]


def import_cycle(packages: list[str]) -> list[str] | None:
    """One cycle of imports among ``packages``' modules (``[a, b, ..., a]``), or None."""
    graph = grimp.build_graph(*packages, cache_dir=None, exclude_type_checking_imports=True)
    ours = {module for module in graph.modules if module.split(".")[0] in packages}
    imports = {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m in ours}
        for module in ours
    }
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as cycle:
        return list(cycle.args[1])
    return None


def test_no_module_of_the_product_is_in_an_import_cycle() -> None:
    cycle = import_cycle(layer_order(REPO / "pyproject.toml"))
    assert cycle is None, "an import cycle: " + " -> ".join(cycle or [])


def test_the_check_finds_a_cycle_through_an_import_inside_a_function(
    tmp_path: Path, monkeypatch
) -> None:
    package = tmp_path / "planted_cycle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from planted_cycle import b\n")
    (package / "b.py").write_text("def f():\n    from planted_cycle import a\n")
    (package / "c.py").write_text("from planted_cycle import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cycle = import_cycle(["planted_cycle"])
    assert cycle is not None and set(cycle) == {"planted_cycle.a", "planted_cycle.b"}
