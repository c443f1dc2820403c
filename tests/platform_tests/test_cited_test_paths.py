"""Every test module the repository cites is there: a path ``tests/<folder>/<name>.py`` written in
the docs, the decision records, the code, the scripts, the benches or the tests names a file of
the tree, so moving a test (each package has its tests folder: docs/developers/layout.md) moves
its citations too.

A citation is read on one line (one broken across two lines is not seen). The house's own
checks in ``tests/platform_tests`` plant made-up folders (``tests/x_tests/...``); a citation
there of a folder the suite does not have is such a plant, not a reference.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CITED = re.compile(r"(?<![\w/.])tests/([a-z_]+)/(?:[A-Za-z0-9_]+/)*[A-Za-z0-9_]+\.py\b")
TEXT = (".py", ".md", ".toml", ".sh", ".yml", ".yaml", ".txt", ".cfg", ".html", ".js")
HOUSE_CHECKS = "tests/platform_tests/"


def tracked_text_files(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [
        name
        for name in listed
        if (name.endswith(TEXT) or Path(name).name in ("Makefile", "Procfile", "run"))
        and (root / name).is_file()
    ]


def missing_citations(root: Path, names: list[str]) -> list[str]:
    """``file:line: path`` of every cited test module that is not in ``root``."""
    found = []
    for name in names:
        text = (root / name).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in CITED.finditer(line):
                path, folder = match.group(0), match.group(1)
                planted = name.startswith(HOUSE_CHECKS) and not (root / "tests" / folder).is_dir()
                if not planted and not (root / path).is_file():
                    found.append(f"{name}:{number}: {path}")
    return found


def test_every_cited_test_module_exists() -> None:
    names = tracked_text_files(REPO)
    assert "docs/developers/layout.md" in names and "scripts/make_favicon.py" in names
    missing = missing_citations(REPO, names)
    assert missing == [], "cited test modules that are not there:\n" + "\n".join(missing)


def test_the_check_sees_a_citation_of_a_moved_module(tmp_path: Path) -> None:
    plants = HOUSE_CHECKS + "test_plants.py"
    files = {
        "tests/a_tests/test_here.py": "",
        "docs/page.md": "See `tests/a_tests/test_here.py` and `tests/a_tests/test_gone.py`.\n",
        "scripts/tool.py": '"""Checked by tests/b_tests/deep/test_moved.py."""\n',
        plants: 'PLANT = "tests/x_tests/test_y.py"\nREAL = "tests/a_tests/test_gone_too.py"\n',
        "bench/x.py": "# mytests/a_tests/test_gone.py is another tree's\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert missing_citations(tmp_path, sorted(files)) == [
        "docs/page.md:1: tests/a_tests/test_gone.py",
        "scripts/tool.py:1: tests/b_tests/deep/test_moved.py",
        f"{plants}:2: tests/a_tests/test_gone_too.py",
    ]
