"""What the frozen standings say of each track (``standings.services.standings_compute``):
the document's exact keys, a track without tasks, a task nobody entered, the baseline row,
a team's write-up and the prize's NFR limit. Hand-built boards (no files)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.statistics.first import EMPTY as EMPTY_FIRST
from leaderboard.statistics.first import comparison_fields
from scoring.models import Reference, ReferenceSource
from standings.models import MethodWriteup
from standings.services import standings_compute
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db

DOCUMENT_KEYS = {"challenge", "end", "frozen_at", "split", "revealed", "tracks", "tasks"}
TRACK_KEYS = {
    "track", "title", "prize", "prize_max_nfr", "confidence_level", "tasks", "entries",
    "unranked_tasks", "trivial_reference",
    *comparison_fields(board=EMPTY_FIRST, names={}),
}  # fmt: skip
ENTRY_KEYS = {
    "rank", "position", "team", "team_id", "is_baseline", "score", "task_scores", "missing",
    "prize_eligible", "method", "p_first", "p_first_mc_error", "rank_interval", "group",
    "rank_set", "tier",
}  # fmt: skip
BOARD_KEYS = {"task", "title", "track", "metric", "direction", "split", "entries"}
BOARD_ENTRY_KEYS = {
    "rank", "position", "team", "team_id", "is_baseline", "score", "submission",
    "submitted_at", "method",
}  # fmt: skip
PRIVATE = {"alpha": (0.9, 0.8), "beta": (0.7, 0.6), "gamma": (0.5, None)}  # t1, t2
TRIVIAL = ((0.3, 0.4), (0.5, 0.6), (0.95, 0.9), (0.7, 0.7))  # (public, private): t1-t3, q1


@pytest.fixture
def world():
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="end", start=now - timedelta(days=9), end=now - timedelta(hours=1)
    )
    main = TrackFactory(challenge=challenge, slug="main", order=0, prize_max_nfr=0.2)
    TrackFactory(challenge=challenge, slug="bare", order=1)  # no task at all
    quiet = TrackFactory(challenge=challenge, slug="quiet", order=2)
    t1, t2 = make_task(main, slug="t1"), make_task(main, slug="t2")
    t3 = make_task(main, slug="t3")  # nobody enters it
    q1 = make_task(quiet, slug="q1")  # nor this one
    teams = {name: make_team(challenge, name) for name in PRIVATE}
    baseline = make_team(challenge, "AutoGluon", baseline=True)
    for task, column in ((t1, 0), (t2, 1)):
        scored(task, baseline, 0.65, 0.65, minutes=1)
        for minutes, (name, team) in enumerate(teams.items()):
            private = PRIVATE[name][column]
            if private is not None:
                scored(task, team, private, private, minutes=10 + minutes)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    # beta flips more of the reference's right rows than the prize allows on one task
    for name, nfr in (("alpha", 0.1), ("beta", 0.5)):
        LeaderboardEntry.objects.filter(task=t2, split="private", team=teams[name]).update(nfr=nfr)
    MethodWriteup.objects.create(team=teams["alpha"], title="Deep owls", body="*how*")
    for task, (public, private) in zip((t1, t2, t3, q1), TRIVIAL, strict=True):
        Reference.objects.create(
            task=task,
            name="trivial",
            source=ReferenceSource.TRIVIAL,
            public_score=public,
            private_score=private,
            scores={"public": {"accuracy": public}, "private": {"accuracy": private}},
        )
    return challenge, teams, baseline


def _doc(challenge, split="private"):
    return standings_compute(challenge=challenge, frozen_at=timezone.now(), split=split)


def test_a_challenge_without_tracks_has_a_document_of_nothing():
    doc = _doc(ChallengeFactory(slug="none"))
    assert set(doc) == DOCUMENT_KEYS and (doc["tracks"], doc["tasks"]) == ([], [])


def test_each_track_lists_its_teams_with_their_write_up_and_prize_eligibility(world):
    challenge, teams, baseline = world
    doc = _doc(challenge)
    assert set(doc) == DOCUMENT_KEYS and (doc["split"], doc["revealed"]) == ("private", True)
    assert [t["track"] for t in doc["tracks"]] == ["main", "bare", "quiet"]
    assert all(set(track) == TRACK_KEYS for track in doc["tracks"])
    main = doc["tracks"][0]
    assert main["tasks"] == ["t1", "t2", "t3"] and main["unranked_tasks"] == ["t3"]
    # the trivial baseline's mean over the tasks ranked: t3's reference counts nowhere
    assert main["trivial_reference"] == {"score": pytest.approx((0.4 + 0.6) / 2), "tasks": 2}
    entries = {e["team"]: e for e in main["entries"]}
    assert all(set(e) == ENTRY_KEYS for e in entries.values())

    # t3, entered by nobody, is in no mean; gamma's missing t2 counts 0
    assert entries["alpha"]["score"] == pytest.approx((0.9 + 0.8) / 2)
    assert entries["gamma"]["score"] == pytest.approx(0.5 / 2)
    assert entries["gamma"]["missing"] == ["t2"] and entries["alpha"]["missing"] == []
    assert [e["team"] for e in main["entries"] if e["rank"]] == ["alpha", "beta", "gamma"]

    assert entries["alpha"]["method"] == {
        "title": "Deep owls",
        "url": f"/teams/{teams['alpha'].pk}/method/",
    }
    assert entries["beta"]["method"] is None
    assert [entries[n]["prize_eligible"] for n in ("alpha", "beta", "gamma")] == [
        True,
        False,  # marked, not removed: it keeps its rank
        True,
    ]
    base = entries["AutoGluon"]
    assert base["is_baseline"] and base["rank"] is None
    assert (base["prize_eligible"], base["method"], base["p_first"]) == (None, None, None)


def test_a_track_without_tasks_or_entries_is_listed_empty(world):
    challenge, *_ = world
    _, bare, quiet = _doc(challenge)["tracks"]
    nothing = comparison_fields(board=EMPTY_FIRST, names={})
    assert (bare["tasks"], bare["entries"], bare["unranked_tasks"]) == ([], [], [])
    assert bare["trivial_reference"] is None
    assert {key: bare[key] for key in nothing} == nothing
    # a track nobody entered ranks nobody: its task is not singled out as unranked
    assert (quiet["tasks"], quiet["entries"], quiet["unranked_tasks"]) == (["q1"], [], [])
    assert quiet["trivial_reference"] == {"score": pytest.approx(0.7), "tasks": 1}


def test_task_boards_name_the_write_up_and_the_public_document_says_it_is_not_revealed(world):
    challenge, teams, baseline = world
    for split in ("private", "public"):
        doc = _doc(challenge, split)
        assert (doc["split"], doc["revealed"]) == (split, split == "private")
        trivial = (0.3 + 0.5) / 2 if split == "public" else (0.4 + 0.6) / 2
        assert doc["tracks"][0]["trivial_reference"]["score"] == pytest.approx(trivial)
        assert [b["task"] for b in doc["tasks"]] == ["t1", "t2", "t3", "q1"]
        assert all(set(b) == BOARD_KEYS and b["split"] == split for b in doc["tasks"])
        t1 = {e["team"]: e for e in doc["tasks"][0]["entries"]}
        assert all(set(e) == BOARD_ENTRY_KEYS for e in t1.values())
        assert t1["alpha"]["method"]["title"] == "Deep owls"
        assert t1["AutoGluon"]["method"] is None and t1["beta"]["method"] is None
        assert doc["tasks"][2]["entries"] == []
