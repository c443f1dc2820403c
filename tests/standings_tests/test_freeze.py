"""The end (issue 12, docs/architecture.md §10): the final standings freeze once, into a
hashed snapshot that equals the private boards at the end and ignores post-challenge submissions."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.selectors import leaderboard_for_track
from standings.core import canonical_json
from standings.models import FinalStandings
from standings.selectors import post_challenge_board
from standings.services import StandingsError, challenge_finish
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db

END_MINUTES = 12 * 60  # `scored(minutes=m)` is at now - 1 day + m: the end is 12 h later


@pytest.fixture
def world():
    now = timezone.now().replace(microsecond=0)
    challenge = ChallengeFactory(
        slug="fin",
        start=now - timedelta(days=30),
        end=now - timedelta(days=1, minutes=-END_MINUTES),
    )
    track = TrackFactory(challenge=challenge, slug="match", title="Matching", prize="A trophy")
    tasks = [make_task(track, slug=f"t{i}") for i in range(2)]
    teams = [make_team(challenge, f"team-{i}") for i in range(5)]
    baseline = make_team(challenge, "AutoGluon", baseline=True)
    rng = random.Random(7)
    for task in tasks:
        scored(task, baseline, rng.random(), rng.random(), minutes=1)
        for i, team in enumerate(teams):
            if task.slug == "t1" and i == 4:
                continue  # team-4 skips a task: it counts 0 on the track
            for m in range(3):
                scored(
                    task,
                    team,
                    rng.random(),
                    rng.random(),  # full-precision floats: "to the last digit"
                    minutes=10 + 60 * m + i,
                    final=(m == 1 and i % 2 == 0),
                )
    for task in tasks:
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return challenge, track, tasks, teams


def private_board(task):
    return [
        (e.rank, e.team.name, e.score, e.submission_id)
        for e in LeaderboardEntry.objects.filter(task=task, split="private")
        .select_related("team")
        .order_by("position")
    ]


def test_freeze_equals_the_private_boards_at_the_end_and_ignores_later_uploads(world):
    challenge, track, tasks, teams = world
    expected_tasks = {t.slug: private_board(t) for t in tasks}
    expected_track = [
        (r.rank, r.team_id, r.mean_score)
        for r in leaderboard_for_track(track=track, split="private").rows
    ]
    # After the end: better uploads, even marked final, must not reach the standings.
    for task in tasks:
        for i, team in enumerate(teams[:2]):
            scored(task, team, 0.9999, 0.9999, minutes=END_MINUTES + 30 + i, final=True)

    frozen, created = challenge_finish(challenge=challenge)
    assert created
    doc = json.loads(frozen.canonical)
    for board in doc["tasks"]:
        got = [(e["rank"], e["team"], e["score"], e["submission"]) for e in board["entries"]]
        assert got == expected_tasks[board["task"]]  # exact floats, same order and ranks
        assert board["direction"] == "higher" and board["split"] == "private"
    (track_doc,) = doc["tracks"]
    assert [(e["rank"], e["team_id"], e["score"]) for e in track_doc["entries"]] == expected_track
    assert track_doc["prize"] == "A trophy"
    assert 0.9999 not in {e["score"] for b in doc["tasks"] for e in b["entries"]}

    # The post-challenge board has exactly the later uploads, ranked apart.
    rows = post_challenge_board(task=tasks[0])
    assert [(r.rank, r.team.name, r.score) for r in rows] == [
        (1, "team-0", 0.9999),
        (2, "team-1", 0.9999),
    ]


def test_freeze_is_idempotent_and_immutable(world):
    challenge, track, tasks, teams = world
    first, created = challenge_finish(challenge=challenge)
    assert created
    # Anything that happens later (a rescore, a hidden team, a refresh) changes nothing.
    teams[0].is_hidden = True
    teams[0].save()
    second, created_again = challenge_finish(challenge=challenge, now=timezone.now())
    assert not created_again
    assert (second.pk, second.sha256, second.canonical) == (
        first.pk,
        first.sha256,
        first.canonical,
    )
    assert FinalStandings.objects.count() == 1
    assert hashlib.sha256(first.canonical.encode()).hexdigest() == first.sha256


def test_the_command_freezes_once_and_refuses_before_the_end(world, capsys):
    challenge, *_ = world
    call_command("finish_challenge", "fin")
    out1 = capsys.readouterr().out
    call_command("finish_challenge", "fin")
    out2 = capsys.readouterr().out
    digest = FinalStandings.objects.get().sha256
    assert "frozen at" in out1 and digest in out1
    assert "already frozen" in out2 and digest in out2
    with pytest.raises(CommandError, match="No challenge"):
        call_command("finish_challenge", "nope")
    open_one = ChallengeFactory(slug="open")
    with pytest.raises(CommandError, match=r"can only be frozen after.*--end-now"):
        call_command("finish_challenge", "open")
    with pytest.raises(StandingsError):
        challenge_finish(challenge=open_one)
    assert not FinalStandings.objects.filter(challenge=open_one).exists()


def test_standings_api_before_and_after_the_end(world):
    challenge, track, tasks, teams = world
    api = APIClient()
    before = api.get("/api/v1/challenges/fin/standings/").json()
    assert before["frozen_at"] is None and before["sha256"] is None
    # nothing is ranked on any split yet: no "split": "private" over empty boards
    assert before["split"] is None and all(t["split"] is None for t in before["tasks"])
    assert [t["track"] for t in before["tracks"]] == ["match"]
    assert before["tracks"][0]["entries"] == [] and before["tracks"][0]["prize"] == "A trophy"
    assert all(t["entries"] == [] for t in before["tasks"])

    challenge_finish(challenge=challenge)
    challenge.private_revealed = True  # frozen is not revealed (test_reveal.py): reveal it
    challenge.save()
    after = api.get("/api/v1/challenges/fin/standings/").json()
    assert after["frozen_at"] is not None
    for key in ("frozen_at", "sha256", "tracks", "tasks"):
        assert key in after
    entry = after["tracks"][0]["entries"][0]
    assert {"rank", "team", "score", "method"} <= set(entry)
    assert entry["rank"] == 1
    # Anyone can check the digest: canonical JSON of the document without "sha256".
    body = {k: v for k, v in after.items() if k != "sha256"}
    assert hashlib.sha256(canonical_json(body).encode()).hexdigest() == after["sha256"]
    assert api.get("/api/v1/challenges/missing/standings/").status_code == 404
    page = api.get("/c/fin/").content.decode()
    top = sorted((e for e in after["tracks"][0]["entries"] if e["rank"]), key=lambda e: e["rank"])
    assert 'id="final-standings"' in page and f"#1 {top[0]['team']}, #2 {top[1]['team']}" in page


def test_beat_task_freezes_due_challenges_only(world):
    from standings.services import challenges_finish_due

    ChallengeFactory(slug="still-open")
    assert challenges_finish_due() == ["fin"]
    assert challenges_finish_due() == []
    assert list(FinalStandings.objects.values_list("challenge__slug", flat=True)) == ["fin"]
