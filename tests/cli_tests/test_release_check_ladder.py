"""``chal release-check`` on a ladder board (docs/organizers/ladder.md): tasks imported with
``manage.py import_task`` into a new challenge get ladder boards; the release check refuses a
participant there until the reveal (409 ``ladder_board``, issue 64: its verdict is one more
answer computed on the exact public rows), and ``chal`` says so in words. Organizers are
answered (``tests/leaderboard_tests/test_ladder_leaks.py``)."""

from __future__ import annotations

import pytest

from datasets.models import Task
from leaderboard.models import ReleaseCheckUse
from scoring.models import Submission
from tests.challenges_tests.factories import PASSWORD, TeamFactory, UserFactory, add_member
from tests.leaderboard_tests.champion_world import widget_grades

CHALLENGE = "ladder-cup"


@pytest.fixture
def signed_in(live_server, transactional_db, monkeypatch, chal, broker, settings):
    settings.PUBLIC_BOARD_DEFAULT = "ladder"  # the product default (the tests' is plain)

    def enter(challenge) -> None:
        team = TeamFactory(challenge=challenge, name="Widgets")
        add_member(team, UserFactory(username="wes"))
        monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
        assert chal("login", "--server", live_server.url, "--username", "wes").code == 0

    return enter


def test_a_participant_is_told_the_release_check_is_closed_on_a_ladder_board(
    signed_in, chal, tmp_path
):
    """A participant on a ladder board before the reveal: refused, 409 ``ladder_board``,
    ``chal`` says why in words and exits 1 (refused); no check of the day is spent."""
    case = widget_grades(tmp_path, challenge_slug=CHALLENGE, command=True)
    task = Task.objects.get(pk=case.task.pk)
    assert task.public_board == "ladder"  # import_task's new challenge: the default
    signed_in(task.track.challenge)
    better = tmp_path / "better.csv"
    better.write_bytes(case.world.file(case.better))

    result = chal("release-check", task.slug, better)
    assert result.code == 1, (result.out, result.err)
    assert "ladder public board" in result.err and "closed to participants" in result.err
    assert "until the private split is revealed" in result.err
    assert "0.3704" not in result.out + result.err and "CANNOT TELL" not in result.out
    assert not ReleaseCheckUse.objects.exists() and Submission.objects.count() == 0
