"""After the end the task stays open as a benchmark on its own, clearly marked board."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.platform_tests.factories import ChallengeFactory, TrackFactory

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
    assert Client().get("/tasks/bench/post-challenge/?split=private").status_code == 404
    assert Client().get("/tasks/bench/post-challenge/?split=bogus").status_code == 404
