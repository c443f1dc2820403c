"""Regression on the boards, with real files scored by the real scoring service: lower RMSE
ranks first (task board, API, CSV, private board, frozen standings), the bootstrap and the
references follow the direction (the trivial reference predicts the train mean), flips
count a row as right within the tolerance, and a track mixing regression with
classification averages comparable values."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from sklearn import metrics as skm

from algorithms.services.builtin import baseline_team_get_or_create
from datasets.services import task_import
from leaderboard.models import LeaderboardEntry
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.models import Reference, ReferenceSource, SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from standings.services import standings_compute
from testkit.bundles import write_classification_bundle, write_regression_bundle
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory, solution_frame

pytestmark = pytest.mark.django_db

SIGMA = {"ada": 0.4, "bo": 1.0, "cy": 2.5}  # ada's predictions are the closest


@pytest.fixture
def world(tmp_path: Path):
    challenge = ChallengeFactory(slug="mixed-cup", daily_submission_limit=50)
    regression = task_import(
        source=write_regression_bundle(tmp_path / "r", rows=160, task={"slug": "prices"}),
        challenge_slug=challenge.slug,
        track_slug="mixed",
    )
    classification = task_import(
        source=write_classification_bundle(tmp_path / "c", task={"slug": "colors"}),
        challenge_slug=challenge.slug,
        track_slug="mixed",
    )
    teams = {name: TeamFactory(challenge=challenge, name=name) for name in SIGMA}
    return challenge, regression, classification, teams, tmp_path


def submit(task, team, frame: pd.DataFrame, folder: Path, name: str):
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    submission = submission_create_for_job(
        task=task, team=team, predictions=path, note=name, name=name
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    submission.refresh_from_db()
    return submission


def noisy(task, sigma: float, seed: int) -> pd.DataFrame:
    truth = solution_frame(task)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"id": truth["id"], "label": truth["label"] + rng.normal(0, sigma, len(truth))}
    )


def rmse_on(task, frame: pd.DataFrame, split: str) -> float:
    rows = solution_frame(task).merge(frame, on="id", suffixes=("", "_p"))
    rows = rows[rows.split == split]
    return skm.mean_squared_error(rows.label, rows.label_p) ** 0.5


def test_lower_rmse_ranks_first_and_the_references_follow(world):
    challenge, task, _, teams, folder = world
    frames = {name: noisy(task, sigma, seed=i) for i, (name, sigma) in enumerate(SIGMA.items())}
    for name, frame in frames.items():
        submit(task, teams[name], frame, folder, name)
    baseline = baseline_team_get_or_create(challenge=challenge)
    submit(task, baseline, noisy(task, 1.6, seed=9), folder, "autogluon")

    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    assert body["primary_metric"] == "rmse" and body["direction"] == "lower"
    assert body["metrics"]["rmse"]["higher_is_better"] is False
    ranked = [(e["team"], e["rank"]) for e in body["entries"]]
    assert ranked == [("ada", 1), ("bo", 2), (baseline.name, None), ("cy", 3)]
    scores = [e["score"] for e in body["entries"]]
    assert scores == sorted(scores)
    assert body["entries"][0]["score"] == pytest.approx(rmse_on(task, frames["ada"], "public"))

    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)
    trivial = Reference.objects.get(task=task, source=ReferenceSource.TRIVIAL)
    train = pd.read_parquet(task.train_parquet.path)
    mean = pd.DataFrame({"id": solution_frame(task)["id"], "label": train["label"].mean()})
    assert trivial.public_score == pytest.approx(rmse_on(task, mean, "public"))
    entries = {e.team.name: e for e in LeaderboardEntry.objects.filter(task=task, split="public")}
    ada = entries["ada"]
    assert ada.score_low <= ada.score <= ada.score_high and ada.rank_low == 1
    assert ada.tied_with_best and not entries["cy"].tied_with_best
    # Flips against the primary reference (the AutoGluon baseline's submission): a row is
    # right when its absolute error is within the tolerance.
    truth = solution_frame(task)
    public = truth[truth.split == "public"].merge(frames["ada"], on="id", suffixes=("", "_p"))
    reference = noisy(task, 1.6, seed=9)
    public = public.merge(reference, on="id", suffixes=("", "_r"))
    tolerance = task.meta["tolerance"]
    right = (public.label_p - public.label).abs() <= tolerance
    ref_right = (public.label_r - public.label).abs() <= tolerance
    assert ada.nfr == pytest.approx((ref_right & ~right).mean())
    assert ada.pfr == pytest.approx((right & ~ref_right).mean())

    board = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()["entries"]
    names = [e.get("reference") or e["team"] for e in board]
    assert names[-1] == "Trivial baseline"  # the train mean: the worst RMSE, placed last
    rows = list(
        csv.DictReader(
            io.StringIO(Client().get(f"/tasks/{task.slug}/leaderboard.csv").content.decode())
        )
    )
    assert [r["team"] for r in rows if r["rank"]] == ["ada", "bo", "cy"]

    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    assert "lower is better" in page
    assert "its absolute error is within the task&#x27;s tolerance" in page


def test_a_track_mixing_regression_and_classification_averages_track_values(world):
    challenge, regression, classification, teams, folder = world
    for i, (name, sigma) in enumerate(SIGMA.items()):
        submit(regression, teams[name], noisy(regression, sigma, seed=i), folder, f"r-{name}")
    truth = solution_frame(classification)
    # cy is perfect on classification, ada and bo get a third wrong.
    for name in SIGMA:
        labels = truth["label"].astype(str).tolist()
        if name != "cy":
            labels = [
                ("cat" if label != "cat" else "dog") if k % 3 == 0 else label
                for k, label in enumerate(labels)
            ]
        frame = pd.DataFrame({"id": truth["id"], "label": labels})
        submit(classification, teams[name], frame, folder, f"c-{name}")

    body = APIClient().get("/api/v1/tracks/mixed/leaderboard/").json()
    assert body["direction"] == "higher"
    by_team = {e["team"]: e for e in body["entries"]}
    for name, entry in by_team.items():
        reg = LeaderboardEntry.objects.get(task=regression, team__name=name, split="public")
        cls = LeaderboardEntry.objects.get(task=classification, team__name=name, split="public")
        expected = (cls.score + min(max(reg.metrics["r2"], 0.0), 1.0)) / 2
        assert entry["score"] == pytest.approx(expected), name
        assert entry["task_scores"]["prices"] == pytest.approx(reg.score)  # its RMSE shown
        assert entry["task_ranks"]["prices"] == reg.rank
    order = [e["team"] for e in body["entries"]]
    assert order == sorted(by_team, key=lambda n: -by_team[n]["score"])
    page = Client().get("/tracks/mixed/").content.decode()
    assert 'data-role="track-note"' in page and "R²" in page


def test_the_private_board_and_the_frozen_standings_rank_lower_rmse_first(world):
    challenge, task, _, teams, folder = world
    challenge.private_revealed = True
    challenge.save()
    for i, (name, sigma) in enumerate(SIGMA.items()):
        submit(task, teams[name], noisy(task, sigma, seed=i), folder, name)
    private = list(
        LeaderboardEntry.objects.filter(task=task, split="private")
        .order_by("position")
        .values_list("team__name", "rank")
    )
    assert private == [("ada", 1), ("bo", 2), ("cy", 3)]
    frozen = standings_compute(challenge=challenge, frozen_at=timezone.now() + timedelta(days=1))
    board = next(t for t in frozen["tasks"] if t["task"] == task.slug)
    assert board["direction"] == "lower"
    assert [(e["team"], e["rank"]) for e in board["entries"]] == private
