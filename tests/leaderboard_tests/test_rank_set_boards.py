"""Rank sets and tiers on a task board (issue 65; docs/decisions/0069-simultaneous-rank-sets.md),
with real files scored by the real scoring service and the board's own bootstrap job: every
team entry gets ``rank_set`` from the board's draws (lower RMSE is better: the direction
follows the metric), identical predictions share a set, a baseline gets none, the board's
``tiers`` follow the sets, and the API, CSV and page show them. On a ladder board's public
split a reader who may not see exact public scores gets neither (the sets rest on the exact
rows)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.test import Client
from rest_framework.test import APIClient

from algorithms.services.builtin import baseline_team_get_or_create
from chal_client.boards import print_tiers, rank_set_columns
from datasets.models import Task
from datasets.services import task_import
from leaderboard.models import LeaderboardEntry
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from testkit.bundles import write_regression_bundle
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory, solution_frame

pytestmark = pytest.mark.django_db


def submit(task, team, frame: pd.DataFrame, folder: Path, name: str):
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    submission = submission_create_for_job(
        task=task, team=team, predictions=path, note=name, name=name
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED


def noisy(task, sigma: float, seed: int) -> pd.DataFrame:
    """The truth plus normal noise of ``sigma``: a regression entry's predictions."""
    truth = solution_frame(task)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"id": truth["id"], "label": truth["label"] + rng.normal(0, sigma, len(truth))}
    )


SIGMA = {"ada": 0.3, "bo": 1.0, "twin": 1.0, "cy": 3.0}  # twin uploads bo's very file


def _board(tmp_path: Path, mode: str = "plain"):
    challenge = ChallengeFactory(slug="sets-cup", daily_submission_limit=50)
    task = task_import(
        source=write_regression_bundle(tmp_path / "r", rows=400, task={"slug": "prices"}),
        challenge_slug=challenge.slug,
        track_slug="sets",
    )
    Task.objects.filter(pk=task.pk).update(public_board=mode)
    task.refresh_from_db()
    for i, (name, sigma) in enumerate(SIGMA.items()):
        team = TeamFactory(challenge=challenge, name=name)
        submit(task, team, noisy(task, sigma, seed=1 if name == "twin" else i), tmp_path, name)
    baseline = baseline_team_get_or_create(challenge=challenge)
    submit(task, baseline, noisy(task, 1.6, seed=9), tmp_path, "autogluon")
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=300)
    return task, baseline


def test_every_team_entry_gets_a_joint_rank_set_and_the_board_its_tiers(tmp_path):
    task, baseline = _board(tmp_path)
    stored = {e.team.name: e for e in LeaderboardEntry.objects.filter(task=task, split="public")}
    assert stored[baseline.name].rank_set_low is None
    sets = {name: (e.rank_set_low, e.rank_set_high) for name, e in stored.items() if name in SIGMA}
    assert sets["ada"] == (1, 1)  # lower RMSE is better: ada is first
    assert sets["bo"] == sets["twin"] == (2, 3)  # the same file: one set, never told apart
    assert sets["cy"] == (4, 4)
    for e in stored.values():  # a joint set is never narrower than the per-entry range
        if e.rank_set_low is not None:
            assert e.rank_set_low <= e.rank_low and e.rank_high <= e.rank_set_high

    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/?split=public").json()
    by_team = {e["team"]: e for e in body["entries"]}
    assert by_team["ada"]["rank_set"] == [1, 1] and by_team["ada"]["tier"] == 1
    assert by_team["twin"]["rank_set"] == [2, 3] and by_team["bo"]["tier"] == 2
    assert by_team[baseline.name]["rank_set"] is None and by_team[baseline.name]["tier"] is None
    assert body["tiers"] == [["ada"], ["bo", "twin"], ["cy"]] or body["tiers"] == [
        ["ada"],
        ["twin", "bo"],
        ["cy"],
    ]

    csv_text = Client().get(f"/tasks/{task.slug}/leaderboard.csv?split=public").content.decode()
    rows = {r["team"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    assert (rows["cy"]["rank_set_low"], rows["cy"]["rank_set_high"], rows["cy"]["tier"]) == (
        "4",
        "4",
        "3",
    )
    page = Client().get(f"/tasks/{task.slug}/leaderboard/?split=public").content.decode()
    assert "Rank range (per entry)" in page and "Rank set (joint)" in page
    assert 'data-tier="2"' in page and "2–3" in page


def test_a_ladder_board_withholds_the_sets_from_who_may_not_see_exact_scores(tmp_path):
    task, _ = _board(tmp_path, mode="ladder")
    assert LeaderboardEntry.objects.filter(
        task=task, split="public", rank_set_low__isnull=False
    ).exists()  # computed and stored: only the reading is gated
    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/?split=public").json()
    teams = [e for e in body["entries"] if e["team"] in SIGMA]
    assert teams and all(e["rank_set"] is None and e["tier"] is None for e in teams)
    assert body["tiers"] == []
    csv_text = Client().get(f"/tasks/{task.slug}/leaderboard.csv?split=public").content.decode()
    assert all(
        r["rank_set_low"] == "" and r["tier"] == ""
        for r in csv.DictReader(io.StringIO(csv_text))
        if r["team"] in SIGMA
    )
    page = Client().get(f"/tasks/{task.slug}/leaderboard/?split=public").content.decode()
    assert "data-tier=" not in page and "Rank set (joint)" not in page


def test_chal_prints_the_joint_set_and_the_tier(tmp_path, capsys):
    task, _ = _board(tmp_path)
    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    (sets, sets_values), (tier, tier_values) = rank_set_columns(body["entries"])
    assert (sets, tier) == ("rank set (joint)", "tier")
    by_team = dict(zip([e["team"] for e in body["entries"]], sets_values, strict=True))
    assert by_team["ada"] == "1" and by_team["bo"] == "2-3" and by_team["cy"] == "4"
    print_tiers(body)
    assert capsys.readouterr().out.startswith(
        "Tiers (joint 95% rank sets; each better than the next): 1: ada | 2: "
    )


def test_a_track_of_few_tasks_declines_its_rank_sets_with_the_reason(tmp_path):
    task, _ = _board(tmp_path)
    body = APIClient().get(f"/api/v1/tracks/{task.track.slug}/leaderboard/").json()
    assert body["tiers"] == []
    assert "1 ranked tasks" in body["rank_set_reason"]
    assert all(e["rank_set"] is None and e["tier"] is None for e in body["entries"])
