"""A wide board at a laptop's width (1280 px): a matching task's board has sixteen columns
(rank, team, F1, precision, recall, average precision, interval, rank range, rank set, tier,
NFR, PFR, robustness, transitivity, submissions, last), more than the page's width. The
table scrolls sideways inside its own frame, with the rank and team columns fixed at its
left, so the last column is reached by scrolling and each row keeps its team in view; the
page itself never gets wider than the window (nothing is cut at its edge)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.models import SubmissionStatus
from scoring.services.references import reference_upload
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)

pytestmark = [pytest.mark.browser]

WIDTH = 1280
TEAMS = ("Record linkage research group, Lyon", "Owls", "Entity matching with gradient boosting")


def wide_board(tmp_path):
    """A matching task with a primary reference (NFR and PFR), scores (average precision)
    and three teams, one of them with a long name."""
    task = imported_task(tmp_path, kind="matching", challenge=ChallengeFactory(), rows=120)
    reference_upload(
        task=task,
        name="Production matcher",
        file=SimpleUploadedFile("p.csv", csv_bytes(predictions_frame(task, wrong=0.2, seed=9))),
        make_primary=True,
    )
    for i, name in enumerate(TEAMS):
        who = make_participant(task.track.challenge, username=f"user{i}", name=name)
        content = csv_bytes(predictions_frame(task, wrong=0.1 + 0.1 * i, seed=i))
        sub = submission_create(task=task, user=who.user, file=SimpleUploadedFile("s.csv", content))
        solution_cache.items.clear()
        score_submission.run(submission_pk=sub.pk)
        sub.refresh_from_db()
        assert sub.status == SubmissionStatus.SCORED, sub.error
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=50)
    return task


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def test_a_wide_board_scrolls_in_its_frame_with_the_team_column_fixed(
    live_server, browser_page, tmp_path
) -> None:
    task = wide_board(tmp_path)
    page = browser_page
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
    table = page.locator("table.leaderboard").first
    headers = table.locator("thead th")
    assert headers.count() == 16, headers.all_inner_texts()
    page.screenshot(path=str(tmp_path / "wide-board.png"), full_page=True)
    # the page is no wider than the window: no column is cut at its right edge
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    frame = table.locator("xpath=..")
    assert frame.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth")  # wider than the page: it scrolls
    seen = box(frame)
    assert seen["x"] >= 0 and seen["x"] + seen["width"] <= WIDTH
    # scrolled to its end, the last column is inside the frame, and so is every team's name
    frame.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    page.screenshot(path=str(tmp_path / "wide-board-scrolled.png"), full_page=True)
    last, right = box(headers.last), seen["x"] + seen["width"]
    assert last["x"] >= seen["x"] - 0.5 and last["x"] + last["width"] <= right + 0.5
    for name in (*TEAMS, "Production matcher"):
        team = box(table.locator(f'tr[data-team="{name}"] td').nth(1))
        assert seen["x"] - 0.5 <= team["x"] <= seen["x"] + 80, (name, team, seen)
        rank = box(table.locator(f'tr[data-team="{name}"] td').first)
        assert rank["x"] + rank["width"] <= team["x"] + 0.5  # the team cell covers no rank
    # what the fixed columns cover is behind them, not drawn over them
    cell = table.locator(f'tr[data-team="{TEAMS[0]}"] td').nth(1)
    colour = cell.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
