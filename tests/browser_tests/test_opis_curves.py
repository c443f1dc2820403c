"""The OPIS curves on a submission page in Chromium: F1 against the threshold of the most
divergent groups against the pooled curve, the calibration range shaded (issue 13)."""

from __future__ import annotations

import pytest

from scoring.models import InsightDigest, SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.challenges_tests.factories import PASSWORD
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)
from tests.support.browser import login

pytestmark = [pytest.mark.browser]


def test_opis_curves_on_a_submission_page_with_scores(live_server, browser_page, tmp_path):
    task = imported_task(tmp_path, kind="classification", rows=240, challenge=ChallengeFactory())
    task.opis = {**task.opis, "range": [0.25, 0.75], "min_group_rows": 5}
    task.save(update_fields=["opis"])
    alice = make_participant(task.track.challenge, username="alice", name="Owls")
    submission = submission_create(
        task=task, user=alice.user, file=upload(csv_bytes(predictions_frame(task, seed=7)))
    )
    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED, submission.error
    stored = InsightDigest.objects.get(submission=submission, reference=None).data["opis"]
    public = stored["public"]
    assert public["groups"], "the test needs eligible groups"
    page = browser_page

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/submissions/{submission.pk}/")

    section = page.locator("#opis")
    assert "public test rows" in section.inner_text()
    value = section.locator('[data-role="opis-value"]').inner_text()
    assert value == f"{submission.scores['public']['opis']:.4f}"
    chart = section.locator('[data-role="opis-curves"] svg')
    assert chart.get_attribute("aria-label") == (
        "F1 against the threshold: the most divergent groups"
    )
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    assert chart.locator('polyline[data-role="pooled-curve"]').count() == 1
    assert chart.locator('polyline[data-role="group-curve"]').count() == len(public["groups"])
    titles = chart.locator('polyline[data-role="group-curve"] title').all_text_contents()
    assert sorted(titles) == sorted(g["name"] for g in public["groups"])
    # The shaded band spans the calibration range: a quarter to three quarters of the axis.
    band = chart.locator('[data-role="calibration-range"]').bounding_box()
    axis = chart.locator("path").first.bounding_box()
    assert band["x"] - axis["x"] == pytest.approx(0.25 * axis["width"], abs=3)
    assert band["width"] == pytest.approx(0.5 * axis["width"], abs=3)
    rows = section.locator('[data-role="opis-group"]')
    assert rows.count() == len(public["groups"])
    assert rows.first.locator("td").first.inner_text() == public["groups"][0]["name"]
