"""The walk of a team's upload to its refreshed board visits no module twice
(docs/decisions/0076-one-home-for-the-refresh.md; the recorder: refresh_walk.py).

A *visit* of module M: a call that enters a function of M from a different module of the
walk (or from none: the test, or a callback Django runs after the commit), recorded with
``sys.setprofile``. Returns up the stack are not visits, nor calls inside M. Between two
visits of M the walk had left M, so a second visit is a return to a room it left: the
failure. Outside the walk: Django and every library, the tests, and the shared utilities
any room may use (``common/``, ``kinds/``, ``runtime/``, ``jobs/``, every ``models`` module,
every pure ``core`` package, the apps' ``task_names``, the hook dispatch
``challenges.hooks``, and two leaves: ``challenges.markdown``, ``leaderboard.cache.connection``,
which the test checks call no module of the walk). The path is the scoring's call of the
board refresh's receiver and all it calls or hands to ``transaction.on_commit``; a callback
after the commit may resume only in ``leaderboard.refresh``, the refresh's home.
"""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.models import LeaderboardEntry
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory

from .ladder_world import random_label_task, upload
from .refresh_walk import HOME, Visit, recorded, revisits

pytestmark = pytest.mark.django_db

# The refresh, in the order its home says (leaderboard/refresh.py): the door, the home, the
# stored board, and the cache and the prerender after the commit.
STEPS = [
    "scoring.services.lifecycle",
    "leaderboard.receivers",
    HOME,
    "leaderboard.stored_board",
    "leaderboard.cache.interval_jobs",
    "leaderboard.cache.board_cache",
    "leaderboard.cache.prerender",
]


def test_an_uploads_walk_to_its_refreshed_board_visits_no_room_twice(
    tmp_path, redis_cache, django_capture_on_commit_callbacks
):
    challenge = ChallengeFactory(slug="walk-cup")
    planted = random_label_task(
        tmp_path, challenge=challenge.slug, slug="walk", rows=200, mode="plain"
    )
    team = TeamFactory(challenge=challenge, name="walkers")
    rival = TeamFactory(challenge=challenge, name="rivals")
    wrong = np.where(planted.truth == "0", "1", "0")
    with django_capture_on_commit_callbacks(execute=True):  # a board to change
        upload(planted, rival, np.where(np.arange(200) % 3, planted.truth, wrong), tmp_path, "r")
    redis_cache.flushall()  # its interval job never ran: the walk's score asks afresh
    with recorded() as walk, django_capture_on_commit_callbacks(execute=True):
        upload(planted, team, planted.truth, tmp_path, "walked")
    shown = "\n".join(f"{v.caller} -> {v.module}.{v.function}" for v in walk.path())
    assert LeaderboardEntry.objects.filter(team=team, score=1.0).exists(), "the board changed"
    assert walk.head[0].module == "scoring.services.upload", shown
    assert [m for m in walk.modules() if m in STEPS] == STEPS, shown
    assert walk.shared_calls == [], shown
    assert revisits(walk.path()) == [], shown


def test_a_walk_that_comes_back_to_a_room_it_left_fails():
    """The rule can fail: planted walks of what the refresh did before it had one home."""
    door = [
        Visit("scoring.services.lifecycle", None, "submission_score"),
        Visit("leaderboard.receivers", "scoring.services.lifecycle", "refresh_task_board"),
        Visit("leaderboard.services", "leaderboard.receivers", "task_leaderboard_refresh"),
    ]
    turns_split = [
        Visit("leaderboard.cache.refresh_turns", "leaderboard.services", "refresh_generation"),
        # after the commit, the turn's follow-up, back in the room the walk had left
        Visit("leaderboard.services", None, "<lambda>"),
        Visit("leaderboard.cache.refresh_turns", "leaderboard.services", "refresh_covered"),
    ]
    assert revisits(door + turns_split) == [
        "a callback -> leaderboard.services.<lambda> (not in leaderboard.refresh)",
        "leaderboard.services -> leaderboard.cache.refresh_turns.refresh_covered",
    ]
    prerender_back_in_the_cache = [
        Visit("leaderboard.cache.board_cache", "leaderboard.cache.bumps", "bump"),
        Visit("leaderboard.cache.prerender", "leaderboard.cache.bumps", "request_after_bump"),
        Visit("leaderboard.cache.board_cache", "leaderboard.cache.prerender", "enabled"),
    ]
    assert revisits(door + prerender_back_in_the_cache) == [
        "leaderboard.cache.prerender -> leaderboard.cache.board_cache.enabled"
    ]
    # A callback resuming in the home is the one exception; a second visit from a room is not.
    home = [
        *door[:2],
        Visit(HOME, "leaderboard.receivers", "task_leaderboard_refresh"),
        Visit("leaderboard.stored_board", HOME, "rebuild"),
        Visit(HOME, None, "<lambda>"),
        Visit(HOME, "leaderboard.stored_board", "boards_changed_after_commit"),
    ]
    assert revisits(home) == [
        "leaderboard.stored_board -> leaderboard.refresh.boards_changed_after_commit"
    ]
