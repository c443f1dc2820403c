"""A grouping task from bundle to board: upload ``id,cluster``, scored, ranked, pages render."""

from __future__ import annotations

import pandas as pd
import pytest
from django.test import Client

from datasets.services import task_import
from leaderboard.models import LeaderboardEntry
from scoring.models import SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.datasets_tests.core_grouping_helpers import grouping_bundle
from tests.scoring_tests.factories import csv_bytes, make_participant, solution_frame, upload

from .grouping_end_to_end_helpers import naive_pairwise_f1

pytestmark = pytest.mark.django_db




def test_a_grouping_submission_is_scored_ranked_and_shown(tmp_path):
    task = task_import(
        source=grouping_bundle(tmp_path / "bundle"), challenge_slug="g", track_slug="groups"
    )
    who = make_participant(task.track.challenge)
    truth = solution_frame(task)
    # Merge the first two entities, keep the others: some pairs right, some wrong.
    entities = sorted(truth["label"].unique())
    clusters = truth["label"].where(truth["label"] != entities[1], entities[0])
    frame = pd.DataFrame({"id": truth["id"], "cluster": "c-" + clusters.astype(str)})
    submission = submission_create(task=task, user=who.user, file=upload(csv_bytes(frame)))
    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()

    assert submission.status == SubmissionStatus.SCORED, submission.error
    public = truth["split"] == "public"
    expected = naive_pairwise_f1(
        truth.loc[public, "label"].tolist(), frame.loc[public, "cluster"].tolist()
    )
    assert submission.scores["public"]["pairwise_f1"] == pytest.approx(expected)
    everything = naive_pairwise_f1(truth["label"].tolist(), frame["cluster"].tolist())
    assert submission.scores["all"]["pairwise_f1"] == pytest.approx(everything)
    assert 0 < everything < 1
    entry = LeaderboardEntry.objects.get(task=task, submission=submission, split="public")
    assert entry.rank == 1 and entry.score == pytest.approx(expected)

    client = Client()
    client.force_login(who.user)
    for url in (
        f"/tasks/{task.slug}/",
        f"/tasks/{task.slug}/leaderboard/",
        f"/submissions/{submission.pk}/",
        f"/api/v1/tasks/{task.slug}/leaderboard/",
        f"/api/v1/submissions/{submission.pk}/",
    ):
        assert client.get(url).status_code == 200, url


def test_a_label_column_instead_of_cluster_is_refused_with_the_reason(tmp_path):
    task = task_import(
        source=grouping_bundle(tmp_path / "bundle"), challenge_slug="g", track_slug="groups"
    )
    who = make_participant(task.track.challenge)
    truth = solution_frame(task)
    frame = pd.DataFrame({"id": truth["id"], "label": truth["label"]})
    submission = submission_create(task=task, user=who.user, file=upload(csv_bytes(frame)))
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED
    assert "cluster" in submission.error
