"""The manual's pictures, taken by the browser tests (docs/developers/write-the-docs.md).

A browser test that shows a page the manual pictures ends with ``manual_screenshot(page,
"leaderboard.png", tmp_path)``: the picture is always taken, into the test's own folder, and
checked (a PNG of the window's size, not blank); with ``DOCS_SCREENSHOTS=1`` in the
environment it is also written to ``docs/screenshots/<name>``, the file the manual shows. So
every run of the suite proves each picture can still be taken from the page as it is, and

    DOCS_SCREENSHOTS=1 TEST_PROCESSES=1 bash scripts/test.sh \
        tests/browser_tests/test_manual_screenshots.py

renews them all (with ``tests/leaderboard_tests/test_ladder_browser.py`` for the ladder's).
:data:`TAKEN_BY_TESTS` names the pictures taken this way; a test checks that every picture the
manual and the README show is one of them, and that no other picture lies in the folder.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
ENVIRONMENT = "DOCS_SCREENSHOTS"
VIEWPORT = {"width": 1280, "height": 800}

TRANSFER_TEST = "test_the_transfer_matrix_and_the_track_comparisons_as_the_manual_shows_them"
STRESS_TEST = "test_the_robustness_column_and_a_run_s_families_as_the_manual_shows_them"
DISCUSSION_TEST = "test_a_thread_with_its_answer_and_the_task_page_s_link_as_the_manual_shows_them"
# picture -> the test that takes it (tests/browser_tests/test_manual_screenshots.py, but for
# the ladder's: tests/leaderboard_tests/test_ladder_browser.py, and the discussion's:
# tests/browser_tests/test_discussion_browser.py)
TAKEN_BY_TESTS = {
    "leaderboard.png": "test_the_task_board_and_a_submission_as_the_manual_shows_them",
    "submission.png": "test_the_task_board_and_a_submission_as_the_manual_shows_them",
    "admin.png": "test_the_console_dashboard_as_the_manual_shows_it",
    "ladder.png": "test_a_ladder_board_shows_shown_scores_and_how_they_move",
    "transfer.png": TRANSFER_TEST,
    "decomposition.png": TRANSFER_TEST,
    "p-first.png": TRANSFER_TEST,
    "comparisons.png": TRANSFER_TEST,
    "robustness.png": STRESS_TEST,
    "robustness-run.png": STRESS_TEST,
    "champion.png": "test_the_champion_its_timeline_and_the_verdicts_as_the_manual_shows_them",
    "phases-board.png": "test_a_board_per_phase_and_the_team_page_with_phases",
    "phases-board-selector.png": "test_a_board_per_phase_and_the_team_page_with_phases",
    "phases-team.png": "test_a_board_per_phase_and_the_team_page_with_phases",
    "discussion.png": DISCUSSION_TEST,
    "discussion-task-link.png": DISCUSSION_TEST,
}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header; ValueError for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def manual_screenshot(target: Any, name: str, folder: Path) -> Path:
    """Take the picture ``name`` of ``target`` (a Playwright page: its window; a locator:
    that element, whole) into ``folder``, check it, and copy it to ``docs/screenshots/`` when
    ``DOCS_SCREENSHOTS=1``. Returns the picture taken in ``folder``."""
    assert name in TAKEN_BY_TESTS, f"add {name} to TAKEN_BY_TESTS"
    path = folder / name
    target.screenshot(path=str(path))
    data = path.read_bytes()
    width, height = png_size(data)
    # A section may be short (a run's table of two families is 120 pixels high), never a sliver.
    assert width >= 400 and height >= 100, (name, width, height)
    assert len(data) > 10_000, f"{name} is nearly empty ({len(data)} bytes)"
    if os.environ.get(ENVIRONMENT) == "1":
        shutil.copyfile(path, SCREENSHOTS / name)
    return path
