"""The champion and release-check API (docs/organizers/champion-gate.md) on one gated task: the
release check stores nothing and spends no submission (a release check of its own daily budget),
answers the stored check's figures, names broken rows only to the task's owners and
organizers (public rows only, ever), decides on the private split only after the reveal,
and refuses hostile or unauthorized requests with a clear message."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from datasets.models import Task
from leaderboard.champion.services import champion_check_run
from leaderboard.models import ChampionChange, ChampionCheck
from scoring.models import Reference, Submission
from scoring.services.references import reference_upload
from scoring.services.upload import submission_create
from tests.challenges_tests.factories import api_key
from tests.leaderboard_tests.champion_world import world_of
from tests.scoring_tests.factories import (
    UserFactory,
    api_client_for,
    make_participant,
    upload,
)
from tests.scoring_tests.references_helpers import scored
from tests.scoring_tests.upload_admission_helpers import UntouchableBody

from .champion_api_helpers import check

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated(_gated_pk):
    task = Task.objects.select_related("track__challenge").get(pk=_gated_pk)
    world = world_of(task)
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    return task, world, make_participant(task.track.challenge, username="ann", name="Ann")


DOCUMENTED_FIELDS = {
    "split",
    "difference",
    "ci",
    "nfr",
    "nfr_ci",
    "pfr",
    "pfr_ci",
    "mcnemar",
    "slices",
    "opis_change",
    "passes",
    "broken_ids",
}


def test_a_file_and_a_stored_submission_get_the_same_answer_and_nothing_is_stored(gated):
    task, world, ann = gated
    api = ann.api()
    content = world.file(world.planted["many_flips"])
    by_file = check(api, task, file=content)
    assert by_file.status_code == 200, by_file.content
    document = by_file.json()
    assert set(document) >= DOCUMENTED_FIELDS
    assert set(document["mcnemar"]) == {"fixes", "breaks", "p"}
    assert {tuple(s) for s in document["slices"]} == {
        ("column", "value", "rows", "nfr", "nfr_upper")
    }
    assert document["passes"] is False and document["split"] == "public"
    assert Submission.objects.count() == 0 and not ChampionCheck.objects.exists()

    submission = scored(submission_create(task=task, user=ann.user, file=upload(content)))
    stored = ChampionCheck.objects.get(submission=submission)
    champion_check_run(check_pk=stored.pk)
    stored.refresh_from_db()
    by_id = check(api, task, submission=submission.pk).json()
    assert by_id.pop("budget") == {**document.pop("budget"), "used": 2, "remaining": 8}
    assert by_id == document
    assert document["verdict"] == "fails" and document["rule"] == "nfr"
    answered = ("broken_ids", "withheld", "min_changed_rows")
    assert {k: v for k, v in stored.result.items() if k not in ("broken_ids", "changed_rows")} == {
        k: v for k, v in document.items() if k not in answered
    }
    # The checks spent no submission: the two other uploads of the day are left.
    for _ in range(2):
        submission_create(task=task, user=ann.user, file=upload(content))


def test_broken_ids_are_public_rows_named_only_to_the_task_owners_and_organizers(gated):
    task, world, ann = gated
    wrong_everywhere = (world.truth + 1) % len(world.classes)
    content = world.file(wrong_everywhere)  # breaks every row the champion had right
    assert check(ann.api(), task, file=content).json()["broken_ids"] == []  # a participant
    organizer = api_client_for(UserFactory(username="org", is_staff=True, is_superuser=True))
    shown = check(organizer, task, file=content).json()["broken_ids"]
    public = set(world.ids[world.public])
    broken = wrong_everywhere != world.truth
    was_right = world.reference == world.truth
    expected = [
        i
        for i, b, r, p in zip(world.ids, broken, was_right, world.public, strict=True)
        if b and r and p
    ]
    assert len(shown) == 100 and shown == expected[:100]
    assert set(shown) <= public
    # After the reveal the gate decides on the private split; ids stay public rows.
    challenge = task.track.challenge
    challenge.private_revealed = True
    challenge.end = timezone.now() - timedelta(minutes=1)
    challenge.start = challenge.end - timedelta(days=5)
    challenge.save()
    after = check(ann.api(), task, file=content).json()
    assert after["split"] == "private"
    assert after["broken_ids"] == []  # not even after the end: a participant is no owner
    assert check(organizer, task, file=content).json()["broken_ids"] == expected[:100]
    owner = make_participant(task.track.challenge, username="owen", name="Owners")
    task.owner_team = owner.team
    task.save()
    assert check(owner.api(), task, file=content).json()["broken_ids"] == expected[:100]


def test_the_private_verdict_is_never_shown_before_the_reveal(gated):
    task, world, ann = gated
    challenge = task.track.challenge
    challenge.private_revealed = True
    challenge.save()
    submission = scored(
        submission_create(
            task=task, user=ann.user, file=upload(world.file(world.planted["few_flips"]))
        )
    )
    champion_check_run(check_pk=ChampionCheck.objects.get(submission=submission).pk)
    change = ChampionChange.objects.get(by="gate")
    assert change.split == "private" and change.nfr is not None
    challenge.private_revealed = False  # hidden again (the organizers' action)
    challenge.save()
    public = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/champion/").json()
    assert public["split"] == "public"
    item = public["history"][-1]
    assert item["split"] == "private" and item["by"] == "gate"
    assert item["difference"] is item["ci"] is item["nfr"] is item["nfr_upper"] is None
    assert item["worst_slice"] is None
    organizer = api_client_for(UserFactory(username="org", is_staff=True, is_superuser=True))
    seen = organizer.get(f"/api/v1/tasks/{task.slug}/champion/").json()["history"][-1]
    assert seen["nfr"] == pytest.approx(change.nfr)
    assert check(ann.api(), task, file=world.file(world.reference)).json()["split"] == "public"


def test_a_sealed_champion_refuses_participants_and_answers_organizers(gated):
    task, world, ann = gated
    owner = make_participant(task.track.challenge, username="owen", name="Owners")
    task.owner_team = owner.team
    task.save()
    Reference.objects.filter(task=task).update(created_by=owner.user)  # the owners' upload
    refused = check(ann.api(), task, file=world.file(world.planted["few_flips"]))
    assert refused.status_code == 409 and refused.json()["code"] == "champion_sealed"
    organizer = api_client_for(UserFactory(username="org", is_staff=True, is_superuser=True))
    assert check(organizer, task, file=world.file(world.planted["few_flips"])).status_code == 200


def test_hostile_and_unauthorized_requests_are_refused_with_a_reason(gated, monkeypatch):
    task, world, ann = gated
    api = ann.api()
    content = world.file(world.planted["few_flips"])
    anonymous = api_client_for(None)
    assert check(anonymous, task, file=content).status_code == 401
    assert check(api, task).status_code == 400  # nothing given
    both = api.post(
        f"/api/v1/tasks/{task.slug}/release-check/",
        {"file": SimpleUploadedFile("p.csv", content), "submission": "1"},
        format="multipart",
    )
    assert both.status_code == 400 and "exactly one" in str(both.json())
    assert check(api, task, submission="abc").status_code == 400
    unknown = api.post(
        "/api/v1/tasks/no-such-task/release-check/", {"submission": 1}, format="json"
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    # Someone else's submission looks like a missing one.
    bo = make_participant(task.track.challenge, username="bo", name="Bo")
    theirs = scored(submission_create(task=task, user=bo.user, file=upload(content)))
    missing = check(api, task, submission=theirs.pk)
    assert missing.status_code == 404 and "no submission" in missing.json()["detail"]
    assert check(api, task, run=999999).status_code == 404
    invalid = check(api, task, file=b"id,label\nnope,bird\n")
    assert invalid.status_code == 400 and invalid.json()["code"] == "invalid_file"
    huge = Client().generic(
        "POST",
        f"/api/v1/tasks/{task.slug}/release-check/",
        b"",
        content_type="multipart/form-data; boundary=xyz",
        **{
            "CONTENT_LENGTH": str(10**12),
            "wsgi.input": UntouchableBody(),
            "HTTP_AUTHORIZATION": f"Token {api_key(ann.user)}",
        },
    )
    assert huge.status_code == 413 and huge.json()["code"] == "too_large"  # body never read
    # Rules: a challenge with rules asks for them first.
    challenge = task.track.challenge
    challenge.rules = "Be nice."
    challenge.save()
    rules = check(api, task, file=content)
    assert rules.status_code == 403 and rules.json()["code"] == "rules_not_accepted"


def test_release_checks_and_uploads_share_one_rate_budget(gated, settings):
    task, world, ann = gated
    settings.TEAM_UPLOAD_RATE = "3/minute"  # the team's budget (challenges.upload_budget)
    api = ann.api()
    content = world.file(world.reference)
    assert check(api, task, file=content).status_code == 200
    created = api.post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": SimpleUploadedFile("p.csv", content)},
        format="multipart",
    )
    assert created.status_code == 201
    assert check(api, task, file=content).status_code == 200
    refused = check(api, task, file=content)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["code"] == "rate_limited"


def test_a_run_scored_on_itself_is_checked_by_its_team_and_weighed_as_an_entry(gated):
    from django.core.files.base import ContentFile

    from algorithms.models import (
        ORGANIZER_PROFILE,
        Algorithm,
        AlgorithmRun,
        AlgorithmRunStatus,
        AlgorithmVersion,
    )
    from leaderboard.champion.checks import champion_candidate_landed
    from scoring.core import save_predictions, score_file
    from scoring.solutions import solution_for_task

    task, world, ann = gated
    content = world.file(world.planted["few_flips"])
    result = score_file(io.BytesIO(content), solution_for_task(task=task))
    algorithm = Algorithm.objects.create(challenge=task.track.challenge, team=ann.team, name="m")
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="x.zip", archive_sha256="0" * 64
    )
    run = AlgorithmRun.objects.create(
        version=version,
        task=task,
        profile=ORGANIZER_PROFILE,
        status=AlgorithmRunStatus.SUCCEEDED,
        scores=result.scores(),
    )
    run.predictions.save("run.npz", ContentFile(save_predictions(result.aligned)))
    by_file = check(ann.api(), task, file=content).json()
    by_run = check(ann.api(), task, run=run.pk).json()
    assert by_run.pop("budget")["used"] == by_file.pop("budget")["used"] + 1
    assert by_run == by_file and by_run["passes"] is True and by_run["verdict"] == "passes"
    bo = make_participant(task.track.challenge, username="bo", name="Bo")
    assert check(bo.api(), task, run=run.pk).status_code == 404  # another team's run
    decided = champion_candidate_landed(run_id=run.pk)
    assert decided is not None and champion_candidate_landed(run_id=run.pk) is None  # once
    assert champion_check_run(check_pk=decided.pk) == "crowned"
    champion = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/champion/").json()
    assert champion["entry"] == {"type": "run", "id": run.pk, "name": f"m v1 (run #{run.pk})"}
    assert champion["team"] == "Ann"


def test_the_answers_keep_to_their_openapi_schema(gated):
    """The release check (counts shown, and withheld) and the champion document validate
    against the live schema's components (OpenAPI 3.0's ``nullable`` read as "or null",
    which also holds beside an ``allOf``, as schemathesis reads it)."""
    from jsonschema import Draft202012Validator

    def as_json_schema(node):
        if isinstance(node, list):
            return [as_json_schema(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: as_json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node

    task, world, ann = gated
    spec = api_client_for(None).get("/api/v1/schema/?format=json").json()
    components = as_json_schema(spec["components"])
    check_schema = components["schemas"]["ReleaseCheck"]
    assert {"verdict", "rule", "rows_needed", "withheld", "budget"} <= set(
        check_schema["properties"]
    )
    verdict = check_schema["properties"]["verdict"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components["schemas"][verdict]["enum"] == ["passes", "fails", "cannot_tell"]

    def valid(document, name):
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        Draft202012Validator(schema).validate(document)

    api = ann.api()
    shown = check(api, task, file=world.file(world.planted["many_flips"])).json()
    withheld = check(api, task, file=world.file(world.reference)).json()  # 0 changed rows
    assert shown["withheld"] is None and withheld["withheld"] == "too few changed rows to report"
    for document in (shown, withheld):
        valid(document, "ReleaseCheck")
    submission = scored(
        submission_create(
            task=task, user=ann.user, file=upload(world.file(world.planted["few_flips"]))
        )
    )
    champion_check_run(check_pk=ChampionCheck.objects.get(submission=submission).pk)
    champion = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/champion/").json()
    assert [h["verdict"] for h in champion["history"]] == [None, "passes"]
    valid(champion, "Champion")
