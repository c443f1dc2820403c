"""A grouping task's board gets bootstrap intervals that resample entities
(docs/architecture.md §11)."""

from __future__ import annotations

import pandas as pd
import pytest
from django.test import Client

from datasets.services import task_import
from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.models import LeaderboardEntry, Split
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.core import load_predictions
from scoring.models import SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache, solution_for_task
from scoring.tasks import score_submission
from tests.datasets_tests.core_grouping_helpers import grouping_bundle
from tests.scoring_tests.factories import csv_bytes, make_participant, solution_frame, upload

pytestmark = pytest.mark.django_db


def test_a_grouping_board_gets_entity_bootstrap_intervals(tmp_path):
    task = task_import(
        source=grouping_bundle(tmp_path / "bundle"), challenge_slug="gb", track_slug="groups"
    )
    truth = solution_frame(task)
    entities = sorted(truth["label"].unique())
    files = {
        # Entities merged two by two: every true pair found, some wrong pairs.
        "ann": truth["label"].map({e: f"m{i // 2}" for i, e in enumerate(entities)}),
        # Every record alone: no pair, F1 0.
        "ben": pd.Series([f"s{i}" for i in range(len(truth))]),
    }
    for name, clusters in files.items():
        who = make_participant(task.track.challenge, username=name)
        frame = pd.DataFrame({"id": truth["id"], "cluster": "c-" + clusters.astype(str)})
        submission = submission_create(task=task, user=who.user, file=upload(csv_bytes(frame)))
        solution_cache.items.clear()
        score_submission.run(submission_pk=submission.pk)
        submission.refresh_from_db()
        assert submission.status == SubmissionStatus.SCORED, submission.error

    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)

    board = list(
        LeaderboardEntry.objects.filter(task=task, split=Split.PUBLIC)
        .select_related("submission")
        .order_by("rank")
    )
    assert len(board) == 2
    for entry in board:
        assert entry.score_low is not None and entry.score_high is not None
        assert entry.score_low <= entry.score <= entry.score_high
        assert entry.rank_low is not None
    leader = board[0]
    assert 0 < leader.score < 1 and leader.score_high > leader.score_low
    assert board[1].score == board[1].score_low == board[1].score_high == 0.0

    # The stored interval is the core's entity bootstrap on the public rows.
    solution = solution_for_task(task=task)
    with leader.submission.predictions.open("rb") as handle:
        pred = load_predictions(handle.read()).pred
    result = bootstrap_leaderboard(
        y=solution.y, preds=[pred], kind="grouping", n_resamples=200, rows=solution.is_public
    )
    assert (leader.score_low, leader.score_high) == pytest.approx(
        (result.entries[0].score_low, result.entries[0].score_high)
    )

    page = Client().get(f"/tasks/{task.slug}/leaderboard/")
    assert page.status_code == 200
    assert "resamples of the entities" in page.content.decode()
