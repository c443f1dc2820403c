"""The task board in Chromium with references (docs/architecture.md §11): an uploaded
reference and the trivial baseline shown without a rank, the NFR and PFR columns against the primary
reference with their intervals, the update trade-off plot, and the prize marking."""

from __future__ import annotations

import pandas as pd
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
    solution_frame,
)

pytestmark = [pytest.mark.browser]


def test_task_board_with_references_and_nfr(live_server, browser_page, tmp_path):
    task = imported_task(tmp_path, kind="classification", challenge=ChallengeFactory())
    truth = solution_frame(task)
    public = truth[truth.split == "public"]
    classes = list(task.classes)

    def wrong_on(ids: set[str]) -> bytes:
        labels = [
            classes[(classes.index(y) + 1) % len(classes)] if i in ids else y
            for i, y in zip(truth["id"], truth["label"].astype(str), strict=True)
        ]
        return csv_bytes(pd.DataFrame({"id": truth["id"], "label": labels}))

    P = list(public["id"])
    reference_upload(
        task=task,
        name="production model, September",
        file=SimpleUploadedFile("p.csv", wrong_on({P[0]})),
        make_primary=True,  # after the start an upload is primary only when chosen (issue 25)
    )
    files = {"Owls": wrong_on({P[1]}), "Hawks": wrong_on({P[0], P[2], P[3], P[4]})}
    for name, content in files.items():
        who = make_participant(task.track.challenge, username=name.lower(), name=name)
        sub = submission_create(task=task, user=who.user, file=SimpleUploadedFile("s.csv", content))
        solution_cache.items.clear()
        score_submission.run(submission_pk=sub.pk)
        sub.refresh_from_db()
        assert sub.status == SubmissionStatus.SCORED, sub.error
    track = task.track
    track.prize_max_nfr = 0.05
    track.save()
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=50)

    page = browser_page
    page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
    table = page.locator("table.leaderboard")
    assert table.locator("th[data-column=nfr]").inner_text().startswith("NFR")
    prod = table.locator('tr[data-team="production model, September"]')
    assert prod.locator("td").first.inner_text() == "—"
    assert "reference" in prod.inner_text() and "primary" in prod.inner_text()
    trivial = table.locator('tr[data-team="Trivial baseline"]')
    assert trivial.locator("td").first.inner_text() == "—"
    # Owls break P1, which the reference got right, and fix P0, which it got wrong.
    owls_nfr = table.locator('tr[data-team="Owls"] td[data-column=nfr]').inner_text()
    assert owls_nfr.startswith(f"{1 / len(P) * 100:.1f}%")
    owls_pfr = table.locator('tr[data-team="Owls"] td[data-column=pfr]').inner_text()
    assert owls_pfr.startswith(f"{1 / len(P) * 100:.1f}%")
    hawks_nfr = table.locator('tr[data-team="Hawks"] td[data-column=nfr]').inner_text()
    assert hawks_nfr.startswith(f"{3 / len(P) * 100:.1f}%")  # breaks P2..P4
    assert "not prize-eligible" in hawks_nfr
    assert "production model, September" in page.locator("#flips-note").inner_text()
    plot = page.locator("#tradeoff svg")
    assert plot.locator("circle.team-point").count() == 2
    assert plot.locator("line.nfr-limit").count() == 1
