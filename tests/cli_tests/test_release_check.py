"""``chal release-check TASK FILE`` against a live server (real HTTP): a breaking file exits 1
naming the rule that broke (the slice, the NFR), a good one on a large split exits 0, and a
better one on a small split (the issue's widget-grades: 135 public rows, nothing broken,
+0.37 accuracy) exits 3 with the rows needed, never "breaks too much"; none stores a
submission or spends the submissions' daily limit (each spends one release check, shown),
and a file the checks refuse says why."""

from __future__ import annotations

import json

import pytest

from leaderboard.models import ChampionChange, ChampionCheck
from scoring.models import Submission
from scoring.selectors import submission_daily_usage
from scoring.services.references import reference_upload
from tests.challenges_tests.factories import (
    PASSWORD,
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
)
from tests.leaderboard_tests.champion_world import gate_task, oracle, widget_grades, world_of
from tests.scoring_tests.factories import upload


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
    assert (
        "Release check against production model on the public split: FAILS (slice: a slice "
        "breaks)" in failed.out
    )
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
    assert "Broken public rows" not in passed.out  # ids: the task's owners and organizers
    assert "Release checks of this task today: 2 of 10 used" in passed.out

    clearly = folder / "many-flips.csv"
    clearly.write_bytes(world.file(world.planted["many_flips"]))
    breaks = chal("release-check", task.slug, clearly)
    assert breaks.code == 1, breaks.err
    assert "FAILS (nfr: breaks too many rows the champion had right)" in breaks.out
    assert "Breaks too much:" in breaks.out

    as_json = chal("release-check", task.slug, good, "--json")
    assert as_json.code == 0
    document = json.loads(as_json.out)
    assert document["passes"] is True and document["split"] == "public"
    assert (document["verdict"], document["rule"], document["rows_needed"]) == (
        "passes",
        None,
        None,
    )
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


def test_a_better_file_on_a_small_split_cannot_tell_and_exits_3_with_the_rows_needed(
    live_server, transactional_db, tmp_path, monkeypatch, chal, broker
):
    challenge = ChallengeFactory(slug="widget-cup")
    case = widget_grades(tmp_path, challenge_slug=challenge.slug)
    team = TeamFactory(challenge=challenge, name="Widgets")
    add_member(team, UserFactory(username="wes"))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert chal("login", "--server", live_server.url, "--username", "wes").code == 0
    better = tmp_path / "better.csv"
    better.write_bytes(case.world.file(case.better))

    result = chal("release-check", case.task.slug, better)
    assert result.code == 3, (result.out, result.err)
    assert (
        "on the public split: CANNOT TELL (too few rows to bound the NFR; about 183 rows "
        "needed)" in result.out
    )
    assert "difference +0.3704" in result.out
    assert "Cannot tell whether it breaks little: 0 of 135 rows broken" in result.out
    assert "Breaks too much" not in result.out and "0.0270" in result.out
    document = json.loads(chal("release-check", case.task.slug, better, "--json").out)
    assert (document["verdict"], document["rule"], document["rows_needed"]) == (
        "cannot_tell",
        None,
        183,
    )
    assert document["passes"] is False and document["nfr"] == 0
    assert Submission.objects.count() == 0
