"""After the end the task stays open as a benchmark on its own, clearly marked board."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


def test_post_challenge_board_lists_only_uploads_after_the_end():
    now = timezone.now()
    # `scored(minutes=m)` is at now - 1 day + m; the end is 12 hours into that day.
    challenge = ChallengeFactory(start=now - timedelta(days=5), end=now - timedelta(hours=12))
    task = make_task(TrackFactory(challenge=challenge), slug="bench")
    a, b = make_team(challenge, "early"), make_team(challenge, "late")
    scored(task, a, 0.99, 0.99, minutes=10)  # during the challenge
    scored(task, b, 0.40, 0.40, minutes=13 * 60)  # after the end
    scored(task, a, 0.50, 0.50, minutes=14 * 60)  # after the end
    page = Client().get("/tasks/bench/post-challenge/").content.decode()
    assert "post-challenge" in page and "not part of the final standings" in page
    assert "0.9900" not in page
    assert page.index("early") < page.index("late")  # 0.50 above 0.40
    assert 'Accuracy <span class="direction higher" title="higher is better"' in page
    api = Client().get("/api/v1/tasks/bench/post-challenge/").json()
    assert api["board"] == "post-challenge" and api["direction"] == "higher"
    assert [(e["rank"], e["team"], e["score"]) for e in api["entries"]] == [
        (1, "early", 0.5),
        (2, "late", 0.4),
    ]
    assert Client().get("/api/v1/tasks/bench/post-challenge/?split=private").status_code == 403
    assert Client().get("/api/v1/tasks/bench/post-challenge/?split=x").status_code == 400
    assert Client().get("/tasks/bench/post-challenge/?split=private").status_code == 404
    assert Client().get("/tasks/bench/post-challenge/?split=bogus").status_code == 404


def test_submissions_after_the_end_are_marked_post_challenge():
    from tests.challenges_tests.factories import UserFactory, add_member

    now = timezone.now()
    challenge = ChallengeFactory(start=now - timedelta(days=5), end=now - timedelta(hours=12))
    task = make_task(TrackFactory(challenge=challenge), slug="marked")
    team = make_team(challenge, "t")
    user = UserFactory()
    add_member(team, user)
    during = scored(task, team, 0.9, 0.9, minutes=10)
    after = scored(task, team, 0.5, 0.5, minutes=13 * 60)
    client = Client()
    client.force_login(user)
    assert 'id="post-challenge"' in client.get(f"/submissions/{after.pk}/").content.decode()
    assert 'id="post-challenge"' not in client.get(f"/submissions/{during.pk}/").content.decode()
    rows = client.get("/submissions/").content.decode().split("<tr data-submission-id=")
    marked = {r.split('"')[1]: "badge post-challenge" in r for r in rows[1:]}
    assert marked == {str(after.pk): True, str(during.pk): False}
