"""A regression task in a real Chromium: its dataset card, an upload on the task page scored
live by a real worker, the errors on the submission page, and the board with its direction."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from datasets.services import task_import
from scoring.models import Submission, SubmissionStatus
from testkit.bundles import write_regression_bundle
from tests.challenges_tests.factories import PASSWORD
from tests.scoring_tests.factories import ChallengeFactory, make_participant, solution_frame
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


def test_a_regression_upload_is_scored_live_and_shows_its_errors(
    live_server, browser_page, request, tmp_path
):
    challenge = ChallengeFactory()
    folder = write_regression_bundle(tmp_path / "b", rows=120, task={"slug": "prices"})
    task = task_import(source=folder, challenge_slug=challenge.slug, track_slug="numbers")
    make_participant(challenge, username="alice", name="Owls")
    truth = solution_frame(task)
    noise = np.random.default_rng(1).normal(0, 0.5, len(truth))
    path = tmp_path / "predictions.csv"
    pd.DataFrame({"id": truth["id"], "label": truth["label"] + noise}).to_csv(path, index=False)
    page = browser_page

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/tasks/{task.slug}/")
    card = page.locator('[data-testid="dataset-card"]')
    assert "Label distribution" in card.inner_text()
    assert card.locator('[data-role="label-distribution"]').is_visible()
    panel = page.locator("#submit")
    assert "label (a number)" in panel.inner_text()
    panel.locator("input[name=file]").set_input_files(str(path))
    request.getfixturevalue("celery_worker")
    panel.get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/submissions/\d+/$"))
    page.locator('.badge.scored[data-role="status"]').wait_for(timeout=60_000)
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.SCORED
    scores = page.locator("table.scores").inner_text()
    assert "rmse ↓ primary" in scores and "r2 ↑" in scores  # each says which way is better
    page.reload()  # the insight is read from the digest stored with the score
    assert page.locator('[data-role="residual-histogram"] svg').is_visible()
    within = page.locator('[data-role="within-tolerance"]').inner_text()
    assert within.endswith("%")

    page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
    assert "lower is better" in page.locator("body").inner_text()
    arrow = page.locator('th[data-metric="rmse"] .direction')
    assert arrow.get_attribute("data-direction") == "lower" and arrow.inner_text() == "↓"


ALIGNMENTS = """table => {
  const heads = [...table.querySelectorAll("thead th")];
  const cells = [...table.querySelectorAll("tbody tr:first-child td")];
  return heads.map((th, i) => {
    const [h, c] = [th.getBoundingClientRect(), cells[i].getBoundingClientRect()];
    const text = node => { const r = document.createRange(); r.selectNodeContents(node);
                           return r.getBoundingClientRect(); };
    return {head: getComputedStyle(th).textAlign, cell: getComputedStyle(cells[i]).textAlign,
            headRight: text(th).right, cellRight: text(cells[i]).right,
            columnRight: Math.min(h.right, c.right)};
  });
}"""


def test_the_label_histograms_headers_align_with_their_numbers(
    live_server, browser_page, tmp_path
):
    challenge = ChallengeFactory()
    folder = write_regression_bundle(tmp_path / "b", rows=120, task={"slug": "histo"})
    task = task_import(source=folder, challenge_slug=challenge.slug, track_slug="numbers")
    browser_page.goto(f"{live_server.url}/tasks/{task.slug}/")
    histogram = browser_page.locator("table.label-histogram")
    assert histogram.is_visible()
    columns = histogram.evaluate(ALIGNMENTS)
    assert len(columns) == 3
    for column in columns:  # each header sits right-aligned over its right-aligned numbers
        assert column["head"] == column["cell"] == "right", column
        assert abs(column["headRight"] - column["cellRight"]) < 2, column
