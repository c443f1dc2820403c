"""The README is a front door and the manual is built and checked
(docs/developers/write-the-docs.md).

``mkdocs build --strict`` runs in ``make test`` (scripts/test.sh); these tests show that the
strict build is a gate (a planted broken link, unknown anchor or page left out of the menu
fails it, in a copy of the manual built into a temporary folder) and that the README keeps
its promises: at most 250 lines, the two commands and nothing else in its quick start, the
demo accounts, the processes by their ``Procfile`` names, and links that lead somewhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from challenges.rules import rules_required
from operations.management.commands.load_demo import Command
from runtime.procfile import processes
from tests.support.screenshots import SCREENSHOTS, TAKEN_BY_TESTS

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MKDOCS = [sys.executable, "-m", "mkdocs"]


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MKDOCS, "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def manual_copy(tmp_path: Path) -> Path:
    """The manual's sources (``mkdocs.yml`` and ``docs/``) in a folder of the test's own."""
    root = tmp_path / "manual"
    shutil.copytree(REPO / "docs", root / "docs", ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    return root


def test_the_manual_builds_in_strict_mode(tmp_path: Path) -> None:
    done = build(REPO, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    for page in ("index.html", "participants/submit-an-algorithm/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
    assert (tmp_path / "site" / "screenshots" / "leaderboard.png").is_file()


def test_a_broken_link_fails_the_build(manual_copy: Path, tmp_path: Path) -> None:
    page = manual_copy / "docs" / "participants" / "join-a-challenge.md"
    page.write_text(page.read_text() + "\nSee [the lost page](no-such-page.md).\n")
    done = build(manual_copy, tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr and "join-a-challenge.md" in done.stderr


def test_an_unknown_anchor_fails_the_build(manual_copy: Path, tmp_path: Path) -> None:
    page = manual_copy / "docs" / "operators" / "configure.md"
    page.write_text(page.read_text() + "\nSee [the sandbox](the-sandbox.md#no-such-part).\n")
    done = build(manual_copy, tmp_path / "site")
    assert done.returncode != 0 and "no-such-part" in done.stderr


def test_a_page_left_out_of_the_menu_fails_the_build(manual_copy: Path, tmp_path: Path) -> None:
    (manual_copy / "docs" / "operators" / "forgotten.md").write_text("# Forgotten\n")
    done = build(manual_copy, tmp_path / "site")
    assert done.returncode != 0 and "forgotten.md" in done.stderr


def test_the_readme_is_a_front_door() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", quick_start, flags=re.S)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert [c for c in commands if c] == ["make run", "make test"]
    for account, password in [
        ("organizer", "organizer-demo-pass"),
        ("alice", "alice-demo-pass"),
        ("bob", "bob-demo-pass"),
    ]:
        assert f"| `{account}` | `{password}` |" in text
    # One summary table of the benchmarks, and the figures' one home linked.
    assert "(docs/developers/benchmarks.md)" in text
    assert text.count("\n| target |") == 1


def test_the_processes_the_readme_names_are_the_procfiles() -> None:
    """The README's first-start paragraph names each process as the ``Procfile`` does (it once
    called ``worker`` ``scoring``, its queue's name), and every one of them."""
    text = README.read_text(encoding="utf-8")
    paragraph = text.split("`Procfile` in the foreground:", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([\w-]+)`", paragraph))
    assert named == set(processes()), paragraph


@pytest.mark.django_db
def test_the_demo_has_no_rules_to_accept_as_the_readme_says() -> None:
    """The README's walk through the demo skips the rules because the demo has none: the
    challenge ``load_demo`` makes asks nobody to accept anything."""
    challenge, _ = Command()._challenge_and_tracks()
    assert not rules_required(challenge=challenge)
    assert "the demo has no rules to\naccept" in README.read_text(encoding="utf-8")


def test_every_link_of_the_readme_leads_somewhere() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert len(local) >= 20, local
    missing = [t for t in local if not (REPO / t.split("#", 1)[0]).exists()]
    assert not missing, missing


def test_every_picture_of_the_manual_is_taken_by_a_test() -> None:
    """Pictures come from the browser tests, not by hand (tests/support/screenshots.py)."""
    pages = [README, *(REPO / "docs").rglob("*.md")]
    shown = {
        Path(target).name
        for page in pages
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text(encoding="utf-8"))
    }
    assert {"leaderboard.png", "submission.png", "admin.png"} <= shown
    unknown = shown - set(TAKEN_BY_TESTS)
    assert not unknown, f"pictures no test takes: {sorted(unknown)}"
    assert all((SCREENSHOTS / name).is_file() for name in shown)
    tests = {path: path.read_text(encoding="utf-8") for path in (REPO / "tests").rglob("test_*.py")}
    for name, test in TAKEN_BY_TESTS.items():
        taking = [text for text in tests.values() if f"def {test}(" in text]
        assert len(taking) == 1 and f'"{name}"' in taking[0], name
    scripts = sorted(p.name for p in SCREENSHOTS.glob("*.py"))
    assert not scripts, f"pictures are the tests' to take, not a script's: {scripts}"
    unused = {p.name for p in SCREENSHOTS.glob("*.png")} - shown
    assert not unused, f"pictures no page shows: {sorted(unused)}"
