"""The submission page in Chromium: flips against the baseline and the previous best, the
confusion matrix and the threshold chart, on the public rows only for a participant."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from challenges.models import Team
from scoring.models import Submission, SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.challenges_tests.factories import PASSWORD
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    solution_frame,
    upload,
)
from tests.support.browser import login

pytestmark = [pytest.mark.browser]


def matching_file(truth: pd.DataFrame, wrong: set[str]) -> bytes:
    """Right on every pair but ``wrong``, with a score that agrees with the label."""
    label = [1 - y if i in wrong else y for i, y in zip(truth.id, truth.label.astype(int))]
    score = [0.55 + 0.4 * (n % 5) / 4 if y else 0.4 * (n % 5) / 4 for n, y in enumerate(label)]
    return csv_bytes(pd.DataFrame({"id": truth.id, "label": label, "score": score}))


def scored(submission: Submission) -> Submission:
    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED, submission.error
    return submission


def test_flips_and_plots_on_the_submission_page(live_server, browser_page, tmp_path):
    # Example ids are hidden while a challenge runs unless shown (test_references.py).
    challenge = ChallengeFactory(flip_examples="shown")
    task = imported_task(tmp_path, kind="matching", challenge=challenge)
    truth = solution_frame(task)
    P = truth.id[truth.split == "public"].tolist()
    Q = truth.id[truth.split == "private"].tolist()
    alice = make_participant(task.track.challenge, username="alice", name="Owls")
    baseline_team = Team.objects.create(
        challenge=task.track.challenge, name="AutoGluon baseline", is_baseline=True
    )
    content = matching_file(truth, {P[0], P[1], P[2], Q[0]})
    baseline = Submission(task=task, team=baseline_team, file_format="csv")
    baseline.file.save("baseline.csv", ContentFile(content), save=False)
    baseline.status_changed_at = timezone.now()
    baseline.save()
    scored(baseline)
    previous = scored(
        submission_create(
            task=task, user=alice.user, file=upload(matching_file(truth, {P[1], P[3], Q[1]}))
        )
    )
    new = scored(
        submission_create(
            task=task, user=alice.user, file=upload(matching_file(truth, {P[3], P[4], Q[2]}))
        )
    )
    page = browser_page

    login(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/submissions/{new.pk}/")

    flips = page.locator("#flips")
    assert f"the {len(P)} public test rows" in flips.inner_text()

    def numbers(reference: str) -> dict[str, str]:
        cells = flips.locator(f'td[data-reference="{reference}"]')
        roles = ("positive", "negative", "both-wrong", "positive-examples", "negative-examples")
        return {
            role: " ".join(cells.locator(f'[data-role="{role}"]').inner_text().split())
            for role in roles
        }

    # The new file is wrong on P3 P4 (and Q2). Against the baseline (wrong on P0 P1 P2):
    # P0 P1 P2 fixed, P3 P4 broken.
    assert numbers("baseline") == {
        "positive": "3",
        "negative": "2",
        "both-wrong": "0",
        "positive-examples": f"{P[0]} {P[1]} {P[2]}",
        "negative-examples": f"{P[3]} {P[4]}",
    }
    # Against the previous best (wrong on P1 P3): P1 fixed, P4 broken, P3 wrong in both.
    assert numbers("previous") == {
        "positive": "1",
        "negative": "1",
        "both-wrong": "1",
        "positive-examples": P[1],
        "negative-examples": P[4],
    }
    link = flips.locator('th[data-reference="previous"] a')
    assert link.get_attribute("href") == f"/submissions/{previous.pk}/"
    assert flips.locator('th[data-reference="baseline"] a').count() == 0  # not theirs to open
    html = page.content()
    assert not [i for i in Q if i in html], "a private id reached a participant"

    for role, title in (
        ("confusion-matrix", "Confusion matrix"),
        ("threshold-chart", "Precision and recall against the threshold"),
    ):
        chart = page.locator(f'[data-role="{role}"] svg')
        assert chart.get_attribute("aria-label") == title
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 150, role
    assert f"On the {len(P)} public test rows" in page.locator("#plots").inner_text()
    assert page.locator('[data-role="threshold-chart"] svg polyline').count() == 2
    cells = page.locator('[data-role="confusion-matrix"] svg g title').all_text_contents()
    counts = [int(t.split(": ")[1].split(" ")[0]) for t in cells]
    assert sum(counts) == len(P)
