"""The champion gate's oracle: planted entries through the real pipeline (upload, the
scoring body, the deciding check's job body), each decision, interval, McNemar count and
slice NFR equal to the gate computed by hand with numpy, scipy and statsmodels
(``champion_world.oracle``)."""

from __future__ import annotations

import pytest

from leaderboard.champion.services import champion_check_run, champion_ensure
from leaderboard.models import ChampionBy, ChampionCheck, ChampionCheckStatus
from scoring.services.references import reference_upload
from scoring.services.upload import submission_create
from tests.leaderboard_tests.champion_world import PLANTED, gate_task, oracle, world_of
from tests.scoring_tests.factories import ChallengeFactory, api_client_for, make_participant, upload
from tests.scoring_tests.references_helpers import scored

pytestmark = pytest.mark.django_db

FIELDS = ("difference", "ci", "nfr", "nfr_ci", "pfr", "pfr_ci")


def assert_matches(document: dict, expected: dict) -> None:
    """Every figure of the platform's document equals the independent computation."""
    for name in FIELDS:
        assert document[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name
    assert document["mcnemar"]["fixes"] == expected["mcnemar"]["fixes"]
    assert document["mcnemar"]["breaks"] == expected["mcnemar"]["breaks"]
    assert document["mcnemar"]["p"] == pytest.approx(expected["mcnemar"]["p"], rel=1e-9)
    got = [(s["column"], s["value"], s["rows"]) for s in document["slices"]]
    assert got == [(s["column"], s["value"], s["rows"]) for s in expected["slices"]]
    for mine, theirs in zip(document["slices"], expected["slices"], strict=True):
        assert mine["nfr"] == pytest.approx(theirs["nfr"], rel=1e-12)
        assert mine["nfr_upper"] == pytest.approx(theirs["nfr_upper"], rel=1e-9)
    assert document["passes"] is expected["passes"]


@pytest.fixture
def gated(tmp_path):
    challenge = ChallengeFactory(slug="gate-oracle", daily_submission_limit=10)
    task = gate_task(tmp_path, challenge_slug=challenge.slug)
    world = world_of(task)
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    return task, world, make_participant(challenge, username="owner", name="Owners")


def test_planted_entries_are_decided_as_the_independent_computation_says(gated):
    task, world, team = gated
    start = champion_ensure(task=task)
    assert (start.by, start.label, start.reference.name) == (
        ChampionBy.INITIAL,
        "production model",
        "production model",
    )
    slices = {"color": world.color}
    expected = {
        name: oracle(
            truth=world.truth,
            new=world.planted[name],
            champion=world.reference,
            rows=world.public,
            slices=slices,
        )
        for name in PLANTED
    }
    # The plant is what it says: each entry fails (or passes) for its own reason.
    assert not expected["equal"]["improved"]
    assert expected["many_flips"]["improved"] and not expected["many_flips"]["breaks_little"]
    broken = expected["slice_broken"]
    assert broken["improved"] and broken["breaks_little"] and not broken["slices_hold"]
    assert expected["few_flips"]["passes"]

    checks = {}
    for name in PLANTED:  # the one that passes last: each is weighed against the reference
        submission = scored(
            submission_create(
                task=task, user=team.user, file=upload(world.file(world.planted[name]))
            )
        )
        check = ChampionCheck.objects.get(submission=submission, decides=True)
        assert check.status == ChampionCheckStatus.QUEUED  # queued where the score landed
        outcome = champion_check_run(check_pk=check.pk)
        check.refresh_from_db()
        assert check.status == ChampionCheckStatus.DONE, check.error
        assert check.against_id == start.pk and check.split == "public"
        assert outcome == ("crowned" if expected[name]["passes"] else "kept"), name
        assert_matches(check.result, expected[name])
        # A redelivered message changes nothing: the check is final.
        assert champion_check_run(check_pk=check.pk) == "skipped"
        checks[name] = check

    assert all(c.result["broken_ids"] == [] for c in checks.values())  # stored: no row named
    assert "A slice breaks: color = red" in " ".join(checks["slice_broken"].result["reasons"])
    assert "Breaks too much" in " ".join(checks["many_flips"].result["reasons"])
    assert "Not shown better" in " ".join(checks["equal"].result["reasons"])

    document = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/champion/").json()
    few = expected["few_flips"]
    crowned = checks["few_flips"]
    assert document["entry"] == {
        "type": "submission",
        "id": crowned.submission_id,
        "name": f"submission #{crowned.submission_id} (Owners)",
    }
    assert document["team"] == "Owners" and document["split"] == "public"
    start_item, change = document["history"]
    assert start_item["by"] == "initial" and start_item["entry"]["name"] == "production model"
    assert start_item["difference"] is None and start_item["team"] is None
    assert change["by"] == "gate" and change["entry"] == document["entry"]
    assert change["difference"] == pytest.approx(few["difference"], rel=1e-9)
    assert change["ci"] == pytest.approx(few["ci"], rel=1e-9)
    assert change["nfr"] == pytest.approx(few["nfr"], rel=1e-12)
    assert change["nfr_upper"] == pytest.approx(few["nfr_ci"][1], rel=1e-9)
    worst = next(s for s in few["slices"] if s["value"] == few["worst_slice"])
    assert change["worst_slice"] == pytest.approx(worst)
    assert checks["slice_broken"].result["worst_slice"]["value"] == "red"
    assert document["since"] == change["at"]
