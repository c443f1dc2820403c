"""The manual's pictures, from the pages as they are (tests/support/screenshots.py).

Each test builds the state a picture shows with the tests' factories (real imports, real
scoring, real intervals), opens the page in Chromium, checks that the page shows what the
manual's caption says, and takes the picture: into the test's folder on every run, and into
``docs/screenshots/`` with ``DOCS_SCREENSHOTS=1``.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from leaderboard.services import leaderboard_bootstrap_compute, task_leaderboard_refresh
from scoring.models import SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.platform_tests.factories import UserFactory
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)
from tests.support.browser import login
from tests.support.screenshots import VIEWPORT, manual_screenshot

pytestmark = [pytest.mark.browser]
PASSWORD = "pw-for-tests"  # what UserFactory sets

# team -> share of wrong labels in its file
TEAMS = {"Owls": 0.08, "Hawks": 0.15, "Kestrels": 0.22, "Herons": 0.35}


def scored_board(tmp_path):
    """A classification task of 400 rows, four teams' files with probabilities scored, the
    references built and the bootstrap intervals computed; returns the task and the Owls'
    submission."""
    challenge = ChallengeFactory(title="Spring benchmark")
    task = imported_task(tmp_path, kind="classification", challenge=challenge, rows=400)
    made = {}
    # The Owls sent a weaker file first: their page shows the flips against it.
    files = [("Owls", 0.3), *TEAMS.items()]
    users = {}
    for seed, (name, wrong) in enumerate(files):
        if name not in users:
            users[name] = make_participant(challenge, username=name.lower(), name=name).user
        content = csv_bytes(predictions_frame(task, wrong=wrong, scores=True, seed=seed))
        sub = submission_create(
            task=task, user=users[name], file=SimpleUploadedFile("predictions.csv", content)
        )
        solution_cache.items.clear()
        score_submission.run(submission_pk=sub.pk)
        sub.refresh_from_db()
        assert sub.status == SubmissionStatus.SCORED, sub.error
        made[name] = sub
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)
    return task, made["Owls"]


def test_the_task_board_and_a_submission_as_the_manual_shows_them(
    live_server, browser, tmp_path
):
    cache.clear()
    task, owls = scored_board(tmp_path)
    visitor = browser.new_context(viewport=VIEWPORT)
    try:
        page = visitor.new_page()
        page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
        table = page.locator("table.leaderboard")
        for name in TEAMS:
            assert table.locator(f'tr[data-team="{name}"]').count() == 1, name
        assert table.locator('tr[data-team="Trivial baseline"]').count() == 1
        assert table.locator('tr[data-team="Owls"] td').first.inner_text() == "1"
        assert table.locator("th[data-column=nfr]").count() == 1
        page.locator("#tradeoff svg").wait_for()
        manual_screenshot(page, "leaderboard.png", tmp_path)
    finally:
        visitor.close()

    member = browser.new_context(viewport=VIEWPORT)
    try:
        page = member.new_page()
        login(page, live_server.url, "owls", PASSWORD)
        page.goto(f"{live_server.url}/submissions/{owls.pk}/")
        insight = page.locator("#flips")
        insight.wait_for()
        assert page.locator("svg").count() >= 2  # the confusion matrix and the threshold chart
        assert "previous best" in insight.inner_text()
        insight.scroll_into_view_if_needed()
        manual_screenshot(page, "submission.png", tmp_path)
    finally:
        member.close()


def test_the_console_dashboard_as_the_manual_shows_it(
    live_server, browser, tmp_path, redis_client
):
    cache.clear()
    task, _ = scored_board(tmp_path)
    redis_client.flushall()  # the boards' and mails' messages no worker of this test takes
    UserFactory(username="organizer", is_staff=True, is_superuser=True)
    organizer = browser.new_context(viewport=VIEWPORT)
    try:
        page = organizer.new_page()
        login(page, live_server.url, "organizer", PASSWORD, path="/admin/login/")
        page.goto(f"{live_server.url}/admin/")
        dashboard = page.locator("#console-dashboard")
        assert dashboard.locator("h3").first.inner_text() == task.track.challenge.title
        assert dashboard.locator(".dash-teams").first.inner_text() == str(len(TEAMS))
        manual_screenshot(page, "admin.png", tmp_path)
    finally:
        organizer.close()
