"""Upload on the task page, then watch the submission turn ``scored`` with a real worker,
without reloading by hand; then mark it final from its page."""

from __future__ import annotations

import re

import pytest

from leaderboard.models import LeaderboardEntry, Split
from scoring.models import Submission, SubmissionStatus
from tests.challenges_tests.factories import PASSWORD
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


def test_an_upload_on_the_task_page_is_scored_live_and_can_be_marked_final(
    live_server, browser_page, request, tmp_path
):
    task = imported_task(tmp_path, challenge=ChallengeFactory())
    alice = make_participant(task.track.challenge, username="alice", name="Owls")
    path = tmp_path / "predictions.csv"
    path.write_bytes(csv_bytes(predictions_frame(task, seed=3)))
    page = browser_page

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/tasks/{task.slug}/")
    panel = page.locator("#submit")
    assert "5 of 5 submissions left today" in panel.inner_text()
    panel.locator("input[name=file]").set_input_files(str(path))
    panel.locator("input[name=note]").fill("first try")
    panel.get_by_role("button", name="Submit").click()

    # The upload script opens the new submission's page; no worker runs yet.
    page.wait_for_url(re.compile(r"/submissions/\d+/$"))
    submission = Submission.objects.get()
    assert (submission.task, submission.team, submission.note) == (task, alice.team, "first try")
    status = page.locator('[data-role="status"]')
    assert status.inner_text() == "queued"
    assert page.locator('[data-role="pending-note"]').is_visible()
    assert page.locator("table.scores").count() == 0

    request.getfixturevalue("celery_worker")  # only now can it be scored
    # The page polls the API and follows the status by itself: no reload from here.
    page.locator('.badge.scored[data-role="status"]').wait_for(timeout=60_000)
    page.locator("table.scores").wait_for()
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED
    scores = page.locator("table.scores").inner_text()
    assert "accuracy" in scores and f"{submission.public_score:.6f}" in scores
    assert page.url.endswith(f"/submissions/{submission.pk}/")
    assert page.locator('[data-role="pending-note"]').count() == 0
    # A first submission has nothing to flip against yet, and says so.
    notes = page.locator('[data-role="flip-note"]').all_inner_texts()
    assert "No scored baseline submission on this task yet." in notes

    final = page.locator("#final-selection")
    assert "0 of 2 final submissions selected" in final.inner_text()
    final.get_by_role("button", name="Mark as final").click()
    page.wait_for_url(f"{live_server.url}/submissions/{submission.pk}/")
    assert f"Submission #{submission.pk} is now final" in page.locator(".messages").inner_text()
    assert page.locator("#final-selection .badge.final").is_visible()
    assert final.get_by_role("button", name="Unmark as final").is_visible()
    submission.refresh_from_db()
    assert submission.is_final
    entry = LeaderboardEntry.objects.get(task=task, team=alice.team, split=Split.PRIVATE)
    assert entry.submission_id == submission.pk
