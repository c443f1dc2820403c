"""Numbers read the same on every page, in Chromium: thousands separators, never a negative
zero, on the pages the server renders and in what the scripts write in place."""

from __future__ import annotations

import pytest

from common.numbers import number_text
from datasets.services import task_import
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission, SubmissionStatus
from testkit.bundles import write_regression_bundle
from tests.challenges_tests.factories import PASSWORD
from tests.scoring_tests.factories import ChallengeFactory, make_participant
from tests.support.browser import login

pytestmark = [pytest.mark.browser]

SCORES = {"rmse": 12345.678912, "mae": 9876.5, "r2": -1e-9}


def test_scores_have_thousands_separators_and_no_negative_zero(
    live_server, browser_page, tmp_path
):
    challenge = ChallengeFactory()
    folder = write_regression_bundle(tmp_path / "b", rows=120, task={"slug": "houses"})
    task = task_import(source=folder, challenge_slug=challenge.slug, track_slug="numbers")
    alice = make_participant(challenge, username="alice", name="Owls")
    submission = Submission.objects.create(
        task=task,
        team=alice.team,
        file="x",
        status=SubmissionStatus.SCORED,
        public_score=SCORES["rmse"],
        private_score=SCORES["rmse"],
        scores={"public": SCORES, "private": SCORES, "all": SCORES},
    )
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    page = browser_page

    page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
    board = page.locator("body").inner_text()
    assert "12,345.6789" in board and "12345.6789" not in board

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/submissions/{submission.pk}/")
    scores = page.locator("table.scores").inner_text()
    assert "12,345.678912" in scores and "9,876.500000" in scores
    assert "0.000000" in scores and "-0.000000" not in scores

    # The scripts that update a page in place write numbers by the same rule.
    page.goto(f"{live_server.url}/submissions/")
    page.wait_for_function("() => window.platformNumbers !== undefined")
    formatted = page.evaluate(
        "() => [[-0.00001, 4], [12345.678912, 4], [-0.04, 1], [0.5, 0], [-2.5, 0], [9876.5, 4]]"
        ".map(([v, d]) => window.platformNumbers.format(v, d))"
    )
    # ... the server's rule, value for value
    assert formatted == ["0.0000", "12,345.6789", "0.0", "1", "-3", "9,876.5000"]
    assert formatted == [
        number_text(v, d)
        for v, d in ((-0.00001, 4), (12345.678912, 4), (-0.04, 1), (0.5, 0), (-2.5, 0), (9876.5, 4))
    ]
