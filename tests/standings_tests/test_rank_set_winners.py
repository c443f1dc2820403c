"""Joint rank sets on a track (docs/decisions/0069-simultaneous-rank-sets.md): over a track
of 10 tasks the frozen standings and the live track board give every team a ``rank_set``
and a ``tier`` from a bootstrap of the tasks, and the winners' text says who is separable
from the winner; below 10 tasks the sets are declined. Hand-built boards (no files)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from challenges.services import challenge_reveal
from leaderboard.refresh import task_leaderboard_refresh
from standings.core import separable_from_winner
from standings.services import challenge_finish, standings_compute
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db

# each team's level; a task moves every team alike, plus a little of its own
LEVEL = {"Owls": 0.90, "Bees": 0.70, "Cats": 0.70, "Dogs": 0.40}


def _track(tasks: int):
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="tiers", start=now - timedelta(days=9), end=now - timedelta(hours=1)
    )
    track = TrackFactory(challenge=challenge, slug="many")
    teams = {name: make_team(challenge, name) for name in LEVEL}
    rng = np.random.default_rng(65)
    for i in range(tasks):
        task = make_task(track, slug=f"t{i}")
        shift = rng.uniform(-0.05, 0.05)
        for minutes, (name, team) in enumerate(teams.items()):
            value = round(LEVEL[name] + shift + rng.normal(0, 0.01), 6)
            scored(task, team, value, value, minutes=minutes)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return challenge, track


def test_the_frozen_track_and_the_live_board_carry_rank_sets_and_tiers():
    challenge, track = _track(10)
    doc = standings_compute(challenge=challenge, frozen_at=timezone.now())
    (board,) = doc["tracks"]
    by_team = {e["team"]: e for e in board["entries"]}
    assert by_team["Owls"]["rank_set"] == [1, 1] and by_team["Owls"]["tier"] == 1
    assert by_team["Bees"]["rank_set"] == by_team["Cats"]["rank_set"] == [2, 3]
    assert by_team["Bees"]["tier"] == by_team["Cats"]["tier"] == 2
    assert by_team["Dogs"]["rank_set"] == [4, 4] and by_team["Dogs"]["tier"] == 3
    assert separable_from_winner(board["entries"]) == (
        "Owls is separable from every other team: its rank set holds it apart (joint 95% "
        "rank sets over the track's tasks)."
    )

    body = APIClient().get(f"/api/v1/tracks/{track.slug}/leaderboard/").json()
    assert body["rank_set_reason"] is None
    assert body["tiers"] == [["Owls"], ["Bees", "Cats"], ["Dogs"]] or body["tiers"] == [
        ["Owls"],
        ["Cats", "Bees"],
        ["Dogs"],
    ]
    assert {e["team"]: e["rank_set"] for e in body["entries"]}["Dogs"] == [4, 4]
    page = APIClient().get(f"/tracks/{track.slug}/").content.decode()
    assert "Rank set (joint)" in page and 'data-tier="3"' in page and "2–3" in page
    rows = list(csv.DictReader(io.StringIO(
        APIClient().get(f"/tracks/{track.slug}/leaderboard.csv").content.decode()
    )))  # fmt: skip
    dogs = next(r for r in rows if r["team"] == "Dogs")
    assert (dogs["rank_set_low"], dogs["rank_set_high"], dogs["tier"]) == ("4", "4", "3")

    challenge_finish(challenge=challenge)
    challenge_reveal(challenge=challenge, revealed=True, actor=None)
    page = APIClient().get(f"/tracks/{track.slug}/winners/").content.decode()
    assert 'data-role="separable"' in page and "Owls is separable from every other team" in page


def test_a_track_of_nine_tasks_declines_them():
    challenge, track = _track(9)
    doc = standings_compute(challenge=challenge, frozen_at=timezone.now())
    assert all(e["rank_set"] is None and e["tier"] is None for e in doc["tracks"][0]["entries"])
    assert separable_from_winner(doc["tracks"][0]["entries"]) == ""
    body = APIClient().get(f"/api/v1/tracks/{track.slug}/leaderboard/").json()
    assert "9 ranked tasks" in body["rank_set_reason"] and body["tiers"] == []
    page = APIClient().get(f"/tracks/{track.slug}/").content.decode()
    assert "Rank set (joint)" not in page and 'id="rank-set-reason"' in page


def test_the_text_names_the_teams_in_the_winners_tier():
    entries = [
        {"rank": 1, "team": "A", "tier": 1, "prize_eligible": False},  # over the NFR limit
        {"rank": 2, "team": "B", "tier": 1},
        {"rank": 3, "team": "C", "tier": 1},
        {"rank": None, "team": "baseline", "tier": None},
        {"rank": 4, "team": "D", "tier": 2},
    ]
    assert separable_from_winner(entries) == (
        "Not separable from B (its tier of the joint 95% rank sets over the track's tasks): "
        "A, C; every other team (1) is separable from the winner."
    )
