"""The layout page (docs/developers/layout.md) names what is there, read from the repository:

- every top-level folder has its row (a new app cannot go unlisted);
- every file of ``scripts/`` is named in the ``scripts/`` row;
- every folder of ``tests/`` is named in the ``tests/`` row, and the row names no folder that
  is not there (the suite's layout is said as it is, not as it was meant to be);
- the tests mirror the apps: every package of the product (each app of the layers contract,
  and the client) has a tests folder of its own holding its tests, ``tests/<package>_tests/``
  (the project's configuration, ``challenge_platform``, is tested in ``platform_tests``, beside
  the house's own checks; the client ``client/`` in ``cli_tests``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.layers import layer_order

REPO = Path(__file__).resolve().parents[2]
LAYOUT = REPO / "docs" / "developers" / "layout.md"
# The packages whose tests folder is not named after them.
TESTS_FOLDER_OF = {"challenge_platform": "platform_tests", "client": "cli_tests"}


def rows(text: str) -> dict[str, str]:
    """The folder table's rows: ``name/`` -> the row's second cell."""
    return dict(re.findall(r"^\| `([\w.-]+/)` \| (.*) \|$", text, flags=re.M))


def named(cell: str) -> set[str]:
    """The names written in code in ``cell`` (a trailing ``/`` dropped)."""
    return {name.rstrip("/") for name in re.findall(r"`([^`]+)`", cell)}


def tracked_top_level_folders() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {
        name.split("/", 1)[0] + "/"
        for name in listed
        if "/" in name and not name.startswith(".") and (REPO / name).is_file()
    }


def test_every_top_level_folder_has_a_row() -> None:
    table = rows(LAYOUT.read_text(encoding="utf-8"))
    folders = tracked_top_level_folders()
    assert {"challenges/", "runtime/", "jobs/", "tests/", "scripts/"} <= folders
    assert sorted(folders - set(table)) == [], "top-level folders missing from the layout"
    assert sorted(set(table) - folders) == [], "the layout lists folders that are not there"


def test_every_script_is_named_on_the_layout_page() -> None:
    cell = named(rows(LAYOUT.read_text(encoding="utf-8"))["scripts/"])
    scripts = {path.name for path in (REPO / "scripts").iterdir() if path.is_file()}
    assert {"bootstrap.sh", "test.sh"} <= scripts
    assert sorted(scripts - cell) == [], "scripts the layout page does not name"


def test_the_tests_row_names_every_folder_of_the_suite() -> None:
    cell = named(rows(LAYOUT.read_text(encoding="utf-8"))["tests/"])
    folders = {
        path.name
        for path in (REPO / "tests").iterdir()
        if path.is_dir() and any(path.glob("*.py"))
    }
    assert {"platform_tests", "support"} <= folders
    assert sorted(folders - cell) == [], "tests/ folders the layout page does not name"
    written = {name for name in cell if name.endswith("_tests")}
    assert sorted(written - folders) == [], "the layout names tests/ folders that are not there"


def test_the_checks_see_a_missing_name() -> None:
    text = LAYOUT.read_text(encoding="utf-8")
    assert "make_favicon.py" not in named(
        rows(text.replace("`make_favicon.py`", "make_favicon.py"))["scripts/"]
    )
    assert "jobs/" not in rows(text.replace("| `jobs/` |", "| jobs |"))


def product_packages() -> list[str]:
    """The apps of the layers contract, top first, and the client."""
    return [*layer_order(REPO / "pyproject.toml"), "client"]


def packages_without_tests(packages: list[str], tests_root: Path) -> list[str]:
    """The packages with no ``tests/<package>_tests/`` folder holding a ``test_*.py``."""

    def folder(package: str) -> Path:
        return tests_root / TESTS_FOLDER_OF.get(package, f"{package}_tests")

    return [package for package in packages if not any(folder(package).glob("test_*.py"))]


def test_every_product_package_has_a_tests_folder_of_its_own() -> None:
    packages = product_packages()
    assert {"challenges", "jobs", "runtime", "common", "operations", "site_pages"} <= set(packages)
    assert packages_without_tests(packages, REPO / "tests") == []


def test_the_mirror_check_sees_a_package_without_tests(tmp_path: Path) -> None:
    for name in ("a_tests/test_x.py", "b_tests/helpers.py", "platform_tests/test_y.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    packages = ["a", "b", "c", "challenge_platform", "client"]
    assert packages_without_tests(packages, tmp_path) == ["b", "c", "client"]
