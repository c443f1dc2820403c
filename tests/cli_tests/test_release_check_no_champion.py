"""``chal release-check`` on a task with no champion yet (issue 66): not exit 1, the code of
a file that fails the gate, but 4 of its own, with the server's reason; nothing stored."""

from __future__ import annotations

import pytest

from algorithms.models import AlgorithmRunStatus
from leaderboard.models import ChampionCheck
from scoring.models import Submission
from tests.challenges_tests.factories import (
    PASSWORD,
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
)
from tests.leaderboard_tests.champion_world import gate_task, world_of
from tests.support.baseline_runs import make_run


@pytest.fixture
def no_champion(live_server, transactional_db, tmp_path, monkeypatch, chal, broker):
    challenge = ChallengeFactory(slug="unchampioned-cup")
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug="no-champion-yet")
    # The AutoGluon baseline on its way: the trivial baseline does not start meanwhile.
    make_run(task, status=AlgorithmRunStatus.QUEUED)
    team = TeamFactory(challenge=challenge, name="Early birds")
    add_member(team, UserFactory(username="erin"))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert chal("login", "--server", live_server.url, "--username", "erin").code == 0
    return task, world_of(task), tmp_path


def test_a_task_without_a_champion_exits_4_with_the_reason(no_champion, chal):
    from chal_client.release import NO_CHAMPION

    task, world, folder = no_champion
    good = folder / "good.csv"
    good.write_bytes(world.file(world.truth))
    result = chal("release-check", task.slug, good)
    assert result.code == NO_CHAMPION == 4, result.err
    assert "no champion yet" in result.err and "Traceback" not in result.err
    assert Submission.objects.count() == 0 and ChampionCheck.objects.count() == 0
