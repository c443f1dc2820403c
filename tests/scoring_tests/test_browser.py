"""In a real Chromium: upload with the progress-bar script, then watch the badge turn
``scored`` on "my submissions" without a reload when a worker comes up."""

from __future__ import annotations

import re

import pytest

from scoring.models import Submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


def test_upload_with_javascript_then_live_status(
    live_server, browser_page, scoring_worker_factory, tmp_path
):
    page = browser_page
    task = imported_task(tmp_path, challenge=ChallengeFactory())
    alice = make_participant(task.track.challenge, username="alice")
    path = tmp_path / "predictions.csv"
    path.write_bytes(csv_bytes(predictions_frame(task)))

    login(page, live_server.url, "alice", "pw-for-tests")
    page.goto(f"{live_server.url}/tasks/{task.slug}/submit/")
    uploads = []
    page.on("request", lambda r: uploads.append(r) if r.method == "POST" else None)
    page.set_input_files("input[name=file]", str(path))
    page.fill("input[name=note]", "from chromium")
    page.click("form.submit-form button[type=submit]")

    page.wait_for_url(re.compile(r"/submissions/\d+/$"))
    submission = Submission.objects.get()
    assert page.url.endswith(f"/submissions/{submission.pk}/")
    # The script posted to the API (not the web view), with the session and CSRF token.
    assert [r.url for r in uploads] == [f"{live_server.url}/api/v1/tasks/{task.slug}/submissions/"]
    assert (submission.note, submission.uploaded_by) == ("from chromium", alice.user)
    assert page.locator('[data-role="status"]').inner_text() == "queued"

    page.goto(f"{live_server.url}/submissions/?task={task.slug}")
    row = page.locator(f'tr[data-submission-id="{submission.pk}"]')
    assert row.locator(".badge").inner_text() == "queued"
    page.evaluate("window.notReloaded = true")

    worker = scoring_worker_factory()  # only now can it be scored
    worker.wait_ready()
    row.locator(".badge.scored").wait_for(timeout=60_000)

    assert page.evaluate("window.notReloaded === true"), "updated in place, not reloaded"
    submission.refresh_from_db()
    assert row.locator('[data-role="score"]').inner_text() == f"{submission.public_score:.4f}"

    page.goto(f"{live_server.url}/submissions/{submission.pk}/")
    assert page.locator("table.scores").is_visible()
    assert "accuracy" in page.locator("table.scores").inner_text()
