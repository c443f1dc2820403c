"""Helpers of test_writeups.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import pytest

from standings.writeups import writeup_save
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, add_member
from tests.leaderboard_tests.factories import make_task, make_team, scored

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def w():
    challenge = ChallengeFactory(slug="wu")
    task = make_task(TrackFactory(challenge=challenge), slug="wu-task")
    mine, other = make_team(challenge, "mine"), make_team(challenge, "other")
    user = UserFactory()
    add_member(mine, user)
    return {
        "challenge": challenge,
        "mine": mine,
        "user": user,
        "sub": scored(task, mine, 0.5, 0.5),
        "foreign": scored(task, other, 0.6, 0.6),
        "failed": scored(task, mine, None, status="failed"),
    }


def save(w, **kw):
    args = {"team": w["mine"], "user": w["user"], "title": "M", "body": "b", "submission_ids": []}
    return writeup_save(**{**args, **kw})


