"""Every decision the code cites exists (docs/decisions/index.md).

A decision is a record, ``docs/decisions/NNNN-title.md`` (context, decision, consequences);
code, tests, scripts and pages cite it by that path. These tests read every citation from the
tree and fail on one that names no record, or on a citation of the old single file; and they
keep the records in shape: numbered without gaps, each with its three parts, each listed on
the index.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DECISIONS = REPO / "docs" / "decisions"
CITATION = re.compile(r"\bdocs/decisions/(\d{4}-[\w.-]+\.md)\b")
RECORD = re.compile(r"^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
OLD_FILE = re.compile(r"\bdocs/decisions\.md\b")
TEXT = (".py", ".md", ".html", ".js", ".sh", ".toml", ".yaml", ".yml", ".txt", ".cfg")


def tracked_files() -> list[Path]:
    """The files git tracks or would add (not ignored ones such as ``.venv/``)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    names = [n for n in listed if n.endswith(TEXT) or Path(n).name in {"Procfile", "Makefile"}]
    return [REPO / n for n in names if (REPO / n).is_file()]


def citations() -> list[tuple[str, str]]:
    """``(where, record file name)`` for every citation of a record in the tree."""
    found = []
    for path in tracked_files():
        if path.is_relative_to(DECISIONS) or path == Path(__file__).resolve():
            continue  # the records and the archive speak of themselves; this file of examples
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITATION.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{path.relative_to(REPO)}:{line}", m.group(1)))
    return found


def records() -> list[Path]:
    return sorted(p for p in DECISIONS.glob("*.md") if RECORD.match(p.name))


def test_every_decision_the_code_cites_exists() -> None:
    cited = citations()
    # The code cites decisions (the cold start, worker liveness, team hopping, ...): a pattern
    # that found none would make this test pass on nothing.
    assert len(cited) >= 30, cited
    assert any(where.endswith(".py") or ".py:" in where for where, _ in cited)
    missing = [
        f"{where}: docs/decisions/{name}"
        for where, name in cited
        if not (DECISIONS / name).is_file()
    ]
    assert not missing, "cited decisions that do not exist:\n" + "\n".join(missing)


def test_nothing_cites_the_old_single_file() -> None:
    old = [
        f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}"
        for path in tracked_files()
        if not path.is_relative_to(DECISIONS)
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for m in OLD_FILE.finditer(text)
    ]
    assert not old, "cite a record, docs/decisions/NNNN-title.md:\n" + "\n".join(old)


def test_the_records_are_numbered_shaped_and_listed() -> None:
    found = records()
    assert len(found) >= 40
    numbers = [int(RECORD.match(p.name).group(1)) for p in found]
    assert numbers == list(range(1, len(found) + 1)), (
        "numbers must run 0001, 0002, ... without gaps"
    )
    index = (DECISIONS / "index.md").read_text(encoding="utf-8")
    for path, number in zip(found, numbers, strict=True):
        text = path.read_text(encoding="utf-8")
        assert text.startswith(f"# {number:04d}. "), path.name
        headings = re.findall(r"^## (.+)$", text, flags=re.M)
        assert headings == ["Context", "Decision", "Consequences"], (path.name, headings)
        assert f"]({path.name})" in index, f"{path.name} is not listed on the index"


def test_a_citation_of_a_missing_record_is_found(tmp_path: Path) -> None:
    """The pattern reads the shapes the code writes: in a comment, a docstring, a link."""
    text = (
        "# (docs/decisions/0007-worker-liveness.md).\n"
        '"""see docs/decisions/9999-no-such-decision.md, "A title"."""\n'
        "[0001](../decisions/0001-one-way-layers-and-one-event-path.md)\n"
    )
    names = [m.group(1) for m in CITATION.finditer(text)]
    assert names == ["0007-worker-liveness.md", "9999-no-such-decision.md"]
    assert [n for n in names if not (DECISIONS / n).is_file()] == ["9999-no-such-decision.md"]
