"""The tests and the benches share helpers through ``testkit/``, not through each other
(docs/decisions/0079-testkit.md):

- no module of ``bench/`` imports ``tests`` (a bench imports ``testkit``);
- no module of ``tests/`` or ``bench/`` imports a ``conftest`` module (pytest loads a
  conftest as a plugin: a conftest keeps fixtures, and its helpers live in ``testkit``).
  The modules that still do are listed in ``CONFTEST_IMPORTS_LEFT``: the list only shrinks.

Each check has a planted case that must fail. (That product code never imports ``testkit``,
``tests`` or ``bench`` is an import-linter contract in ``pyproject.toml``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Test modules that import a conftest today: each to move its helpers to testkit.
CONFTEST_IMPORTS_LEFT = frozenset(
    [
        "tests/accounts_tests/oidc_helpers.py",
        "tests/accounts_tests/test_browser.py",
        "tests/algorithms_tests/test_first_answers_workers.py",
        "tests/algorithms_tests/test_reproduction_workers.py",
        "tests/algorithms_tests/test_untrusted_code.py",
        "tests/algorithms_tests/test_worker.py",
        "tests/baselines_tests/test_admin.py",
        "tests/baselines_tests/test_admin_browser.py",
        "tests/baselines_tests/test_commands.py",
        "tests/baselines_tests/test_services.py",
        "tests/baselines_tests/test_stop.py",
        "tests/baselines_tests/test_worker.py",
        "tests/browser_tests/test_admin_import.py",
        "tests/browser_tests/test_leaderboards.py",
        "tests/browser_tests/test_numbers_browser.py",
        "tests/browser_tests/test_opis_curves.py",
        "tests/browser_tests/test_regression_pages.py",
        "tests/browser_tests/test_split_toggle.py",
        "tests/browser_tests/test_submission_insight.py",
        "tests/browser_tests/test_teams.py",
        "tests/browser_tests/test_upload_live.py",
        "tests/browser_tests/test_winners.py",
        "tests/cli_tests/test_live.py",
        "tests/cli_tests/test_release_check.py",
        "tests/cli_tests/test_release_check_ladder.py",
        "tests/cli_tests/test_release_check_no_champion.py",
        "tests/cli_tests/test_robustness.py",
        "tests/cli_tests/test_upload_retry.py",
        "tests/console_tests/conftest.py",
        "tests/datasets_tests/test_commands_load_demo.py",
        "tests/datasets_tests/test_croissant.py",
        "tests/datasets_tests/test_versions_formats.py",
        "tests/leaderboard_tests/test_champion_live.py",
        "tests/leaderboard_tests/test_champion_start.py",
        "tests/operations_tests/test_benchmark_health.py",
        "tests/reliability_tests/test_beat_recovery.py",
        "tests/reliability_tests/test_database_faults.py",
        "tests/reliability_tests/test_lost_publishes.py",
        "tests/reliability_tests/test_s3_storage.py",
        "tests/reliability_tests/test_storage_faults.py",
        "tests/scoring_tests/test_baseline_runner.py",
        "tests/scoring_tests/test_faults.py",
        "tests/scoring_tests/test_follow_ups.py",
        "tests/scoring_tests/test_job_claims.py",
        "tests/scoring_tests/test_sweeper.py",
        "tests/scoring_tests/test_upload.py",
        "tests/scoring_tests/test_worker.py",
        "tests/scoring_tests/worker_helpers.py",
        "tests/security_tests/matrix_case.py",
        "tests/security_tests/test_authorization_matrix.py",
        "tests/security_tests/test_hardening.py",
        "tests/security_tests/test_rules_gate.py",
        "tests/security_tests/test_task_owner.py",
    ]
)


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


def test_no_module_imports_a_conftest_but_those_left() -> None:
    importers = set(conftest_importers())
    assert sorted(importers - CONFTEST_IMPORTS_LEFT) == [], (
        "modules importing a conftest (move the helper to testkit)"
    )
    assert sorted(CONFTEST_IMPORTS_LEFT - importers) == [], (
        "listed in CONFTEST_IMPORTS_LEFT but no longer importing a conftest: strike them"
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
