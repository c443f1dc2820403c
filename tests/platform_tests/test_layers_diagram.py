"""The manual's picture of the layers (docs/developers/layout.md) is drawn from pyproject.toml's
import-linter contracts (scripts/layers_diagram.py): it is up to date, and it follows a change
of the contracts."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "layers_diagram.py"


def diagram(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


def test_the_readme_shows_the_layers_pyproject_declares() -> None:
    done = diagram("--check")
    assert done.returncode == 0, done.stderr
    block = diagram().stdout
    # Top to bottom, as the layers contract lists them; the client apart.
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in contracts["contracts"] if c["type"] == "layers"]
    order = [layer.strip("()") for layer in layers]
    arrows = [f"pkg_{a} --> pkg_{b}" for a, b in itertools.pairwise(order)]
    assert [line.strip() for line in block.splitlines() if "-->" in line] == arrows
    assert 'pkg_common["common<br/><i>imports no Django</i>"]' in block
    assert "chal_client<br/><i>imports none of the apps</i>" in block


def test_a_changed_contract_makes_the_picture_out_of_date(tmp_path: Path) -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    changed = pyproject.replace('    "operations",\n', '    "operations",\n    "reports",\n', 1)
    assert changed != pyproject
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(
        (REPO / "docs/developers/layout.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    args = ("--pyproject", str(tmp_path / "pyproject.toml"), "--readme", str(readme))

    stale = diagram("--check", *args)
    assert stale.returncode == 1
    assert "run: .venv/bin/python scripts/layers_diagram.py --write" in stale.stderr
    assert diagram("--write", *args).returncode == 0
    assert (
        "pkg_operations --> pkg_reports\n    pkg_reports --> pkg_leaderboard" in readme.read_text()
    )
    assert diagram("--check", *args).returncode == 0


def test_a_readme_without_the_markers_is_named(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# No picture here\n", encoding="utf-8")
    done = diagram("--check", "--readme", str(readme))
    assert done.returncode == 1 and "no '<!-- layers:" in done.stderr
