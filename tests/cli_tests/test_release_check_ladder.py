"""``chal release-check`` on the product default (docs/organizers/ladder.md): tasks imported with
``manage.py import_task`` into a new challenge get ladder boards, and the release check answers
a participant there with its verdict and exit code, as on a plain board (issue 50's gate: the
widget-grades case exits 3 with the rows needed, a clearly breaking file 1, a good file on a
large split 0), while every figure of the public rows is withheld with the reason
(``leaderboard/champion/disclosure.py``): no exact public score a ladder board hides."""

from __future__ import annotations

import json

import pytest

from datasets.models import Task
from leaderboard.champion.disclosure import LADDER_WITHHELD
from scoring.models import Submission
from scoring.services.references import reference_upload
from tests.leaderboard_tests.champion_world import gate_task, widget_grades, world_of
from tests.platform_tests.factories import TeamFactory, UserFactory, add_member
from tests.scoring_tests.factories import upload

from .conftest import PASSWORD

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


def _withheld(document: dict) -> None:
    assert document["withheld"] == LADDER_WITHHELD
    for name in ("difference", "ci", "nfr", "nfr_ci", "pfr", "pfr_ci", "mcnemar", "opis_change"):
        assert document[name] is None, name
    assert document["slices"] == [] and document["broken_ids"] == []
    assert any("ladder public board" in reason for reason in document["reasons"])


def test_the_widget_grades_case_exits_3_and_a_breaking_file_1_on_a_ladder_board(
    signed_in, chal, tmp_path
):
    case = widget_grades(tmp_path, challenge_slug=CHALLENGE, command=True)
    task = Task.objects.get(pk=case.task.pk)
    assert task.public_board == "ladder"  # import_task's new challenge: the default
    signed_in(task.track.challenge)
    better = tmp_path / "better.csv"
    better.write_bytes(case.world.file(case.better))

    result = chal("release-check", task.slug, better)
    assert result.code == 3, (result.out, result.err)
    assert (
        "on the public split: CANNOT TELL (too few rows to bound the NFR; about 183 rows "
        "needed)" in result.out
    )
    assert f"Figures withheld: {LADDER_WITHHELD}" in result.out
    assert "0.3704" not in result.out and "0 of 135 rows broken" not in result.out
    document = json.loads(chal("release-check", task.slug, better, "--json").out)
    assert (document["verdict"], document["rule"], document["rows_needed"]) == (
        "cannot_tell",
        None,
        183,
    )
    assert document["passes"] is False
    _withheld(document)

    # A clearly breaking file: the champion's right rows broken, half of the public split.
    public = case.world.public.nonzero()[0]
    breaking = case.reference.copy()
    right = public[case.reference[public] == case.world.truth[public]]
    breaking[right[:60]] = (breaking[right[:60]] + 1) % len(case.world.classes)
    path = tmp_path / "breaking.csv"
    path.write_bytes(case.world.file(breaking))
    failed = chal("release-check", task.slug, path)
    assert failed.code == 1, (failed.out, failed.err)
    assert "FAILS (improvement: not shown better than the champion)" in failed.out
    assert Submission.objects.count() == 0


def test_a_good_file_on_a_large_split_passes_and_exits_0_on_a_ladder_board(
    signed_in, chal, tmp_path
):
    task = gate_task(tmp_path, challenge_slug=CHALLENGE, slug="large-gated", command=True)
    assert task.public_board == "ladder"
    world = world_of(task)
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    signed_in(task.track.challenge)
    good = tmp_path / "good.csv"
    good.write_bytes(world.file(world.planted["few_flips"]))
    passed = chal("release-check", task.slug, good)
    assert passed.code == 0, (passed.out, passed.err)
    assert "on the public split: PASSES" in passed.out
    assert f"Figures withheld: {LADDER_WITHHELD}" in passed.out
    _withheld(json.loads(chal("release-check", task.slug, good, "--json").out))
    many = tmp_path / "many.csv"
    many.write_bytes(world.file(world.planted["many_flips"]))
    breaks = chal("release-check", task.slug, many)
    assert breaks.code == 1, (breaks.out, breaks.err)
    assert "FAILS (nfr: breaks too many rows the champion had right)" in breaks.out
