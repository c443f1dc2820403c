"""``chal release-check TASK FILE`` against a live server (real HTTP): a breaking file exits 1
naming the broken slice, a good one exits 0; neither stores a submission nor spends the daily
limit, and a file the checks refuse says why."""

from __future__ import annotations

import json

import pytest

from leaderboard.models import ChampionChange, ChampionCheck
from scoring.models import Submission
from scoring.selectors import submission_daily_usage
from scoring.services.references import reference_upload
from tests.leaderboard_tests.champion_world import gate_task, oracle, world_of
from tests.platform_tests.factories import ChallengeFactory, TeamFactory, UserFactory, add_member
from tests.scoring_tests.factories import upload

from .conftest import PASSWORD


@pytest.fixture
def gated(live_server, transactional_db, tmp_path, monkeypatch, chal, broker):
    challenge = ChallengeFactory(slug="release-cup", daily_submission_limit=1)
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug="release-gated")
    world = world_of(task)
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    team = TeamFactory(challenge=challenge, name="Data owners")
    add_member(team, UserFactory(username="dana"))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert chal("login", "--server", live_server.url, "--username", "dana").code == 0
    return task, world, team, tmp_path


def test_a_breaking_file_exits_1_naming_the_slice_and_a_good_one_exits_0(gated, chal):
    task, world, team, folder = gated
    breaking = folder / "slice-broken.csv"
    breaking.write_bytes(world.file(world.planted["slice_broken"]))
    good = folder / "good.csv"
    good.write_bytes(world.file(world.planted["few_flips"]))

    failed = chal("release-check", task.slug, breaking)
    assert failed.code == 1, failed.err
    assert "Release check against production model on the public split: FAILS" in failed.out
    assert "A slice breaks: color = red" in failed.out
    red = next(
        line for line in failed.out.splitlines() if line.startswith("color") and " red " in line
    )
    expected = oracle(
        truth=world.truth,
        new=world.planted["slice_broken"],
        champion=world.reference,
        rows=world.public,
        slices={"color": world.color},
    )
    slice_red = next(s for s in expected["slices"] if s["value"] == "red")
    assert f"{slice_red['nfr'] * 100:.2f}%" in red

    passed = chal("release-check", task.slug, good)
    assert passed.code == 0, passed.err
    assert "on the public split: PASSES" in passed.out
    assert "Broken public rows" not in passed.out  # ids are hidden while the challenge runs

    as_json = chal("release-check", task.slug, good, "--json")
    assert as_json.code == 0
    document = json.loads(as_json.out)
    assert document["passes"] is True and document["split"] == "public"
    assert document["broken_ids"] == []

    # Nothing was stored and no limit spent: the one upload of the day is still there.
    assert Submission.objects.count() == 0
    assert not ChampionCheck.objects.exists()
    assert list(ChampionChange.objects.values_list("by", flat=True)) == ["initial"]
    assert submission_daily_usage(team=team, task=task).used == 0
    submitted = chal("submit", task.slug, good)
    assert submitted.code == 0, submitted.err


def test_a_file_the_checks_refuse_exits_1_with_the_reason_and_stores_nothing(gated, chal):
    task, world, team, folder = gated
    bad = folder / "bad.csv"
    bad.write_text("id,label\nt0000,bird\n")
    result = chal("release-check", task.slug, bad)
    assert result.code == 1
    assert result.err.startswith("error: The ids do not match the test set:")
    assert "2,999 test ids are missing" in result.err and "Traceback" not in result.err
    missing = chal("release-check", task.slug, folder / "nope.csv")
    assert missing.code == 2 and "no such file" in missing.err
    assert Submission.objects.count() == 0
