"""Where the champion starts (docs/organizers/champion-gate.md, "The start"), through the real
services (the scoring body, the deciding check's job body, the beat's minute, the API):

- never the trivial baseline while the AutoGluon baseline is on its way (the minute's beat
  used to crown it); entries scored meanwhile are weighed once the start is set;
- the trivial baseline, when nothing is on its way, gives way to a model shown better (a
  reference that arrives later passes the gate against it), or to a marked reference;
- a start is decided again on a new data version;
- "cannot tell" keeps the champion unless the challenge crowns those (console, audited)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from algorithms.models import AlgorithmRunStatus
from challenges.models import AuditEvent
from datasets.replace import task_bundle_replace
from leaderboard.champion.beat import champion_tick
from leaderboard.champion.services import champion_check_run, champion_ensure
from leaderboard.models import ChampionBy, ChampionChange, ChampionCheck, TaskChampion
from notifications.models import Webhook, WebhookDelivery
from scoring.models import Reference, ReferenceSource, Submission
from scoring.services.references import reference_upload
from scoring.services.upload import submission_create
from tests.console_tests.helpers import change_form_data
from tests.leaderboard_tests.champion_world import gate_task, widget_grades, world_of
from tests.scoring_tests.factories import (
    ChallengeFactory,
    UserFactory,
    api_client_for,
    make_participant,
    upload,
)
from tests.scoring_tests.references_helpers import baseline_submission, scored
from tests.support.baseline_runs import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare(tmp_path):
    """The gated task with no uploaded reference: its start is the AutoGluon baseline."""
    challenge = ChallengeFactory(slug="start-cup", daily_submission_limit=10)
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug="started")
    return task, world_of(task), make_participant(challenge, username="ann", name="Ann")


def decide(submission: Submission) -> str:
    """Run the submission's newest deciding check (the worker's job body)."""
    check = ChampionCheck.objects.filter(submission=submission, decides=True).latest("pk")
    return champion_check_run(check_pk=check.pk)


def champion_api(task) -> dict:
    response = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/champion/")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_trivial_baseline_never_starts_while_autogluon_is_on_its_way_and_waiting_entries_are_weighed(  # noqa: E501
    bare, django_capture_on_commit_callbacks
):
    task, world, ann = bare
    run = make_run(task, status=AlgorithmRunStatus.QUEUED)
    # The minute's beat (it used to crown the trivial baseline here) and the API's first use.
    champion_tick(task_ids=lambda: [task.pk])
    assert Reference.objects.filter(task=task, source=ReferenceSource.TRIVIAL).exists()
    document = champion_api(task)
    assert document["entry"] is None and document["history"] == []
    assert document["waiting_for"] == f"the AutoGluon baseline (run #{run.pk}, queued)"
    refused = api_client_for(ann.user).post(
        f"/api/v1/tasks/{task.slug}/release-check/",
        {"file": upload(world.file(world.planted["few_flips"]))},
        format="multipart",
    )
    assert refused.status_code == 409 and refused.json()["code"] == "no_champion"
    assert "AutoGluon baseline (run #" in refused.json()["detail"]

    # A team's entry scored meanwhile waits for the start.
    ann_sub = scored(
        submission_create(
            task=task, user=ann.user, file=upload(world.file(world.planted["few_flips"]))
        )
    )
    assert decide(ann_sub) == "waiting"
    run.status = AlgorithmRunStatus.RUNNING
    run.save(update_fields=["status"])
    champion_tick(task_ids=lambda: [task.pk])
    assert not ChampionChange.objects.filter(task=task).exists()

    # The baseline's run ends; its submission is scored: it is the start.
    run.status = AlgorithmRunStatus.SUCCEEDED
    run.save(update_fields=["status"])
    autogluon = baseline_submission(task, world.file(world.reference))
    with django_capture_on_commit_callbacks(execute=True):
        assert decide(autogluon) == "champion"
    start = TaskChampion.objects.get(task=task).current
    assert (start.by, start.submission_id, start.data_version) == (
        ChampionBy.INITIAL,
        autogluon.pk,
        1,
    )
    # The waiting entry was queued again against the start, and passes it.
    assert decide(ann_sub) == "crowned"
    document = champion_api(task)
    assert [(h["by"], h["entry"]["id"]) for h in document["history"]] == [
        ("initial", autogluon.pk),
        ("gate", ann_sub.pk),
    ]
    assert document["history"][1]["verdict"] == "passes" and document["history"][1]["rule"] is None
    assert document["history"][0]["verdict"] is None  # the start was not weighed
    assert document["waiting_for"] is None
    assert not ChampionChange.objects.filter(reference__source=ReferenceSource.TRIVIAL).exists()


def test_with_nothing_on_its_way_the_trivial_baseline_starts_and_a_model_shown_better_replaces_it(
    bare,
):
    task, world, ann = bare
    make_run(task, status=AlgorithmRunStatus.FAILED)  # e.g. bubblewrap was missing
    start = champion_ensure(task=task)
    assert start.reference.source == ReferenceSource.TRIVIAL and start.by == ChampionBy.INITIAL
    # The baseline is run again and its model arrives: against the trivial baseline (a guess
    # of the majority class) it breaks far more than epsilon, and takes the place all the same.
    autogluon = baseline_submission(task, world.file(world.planted["many_flips"]))
    organizer = api_client_for(UserFactory(username="org", is_staff=True, is_superuser=True))
    asked = organizer.post(
        f"/api/v1/tasks/{task.slug}/release-check/", {"submission": autogluon.pk}, format="json"
    ).json()  # the POST: +0.30 accuracy against the trivial baseline
    assert asked["champion"]["name"] == "Trivial baseline" and asked["difference"] > 0.2
    assert asked["nfr_ci"][1] > asked["epsilon"]
    assert (asked["verdict"], asked["rule"], asked["passes"]) == ("passes", None, True)
    assert decide(autogluon) == "crowned"
    check = ChampionCheck.objects.get(submission=autogluon, decides=True)
    assert check.result["nfr_ci"][1] > check.result["epsilon"]
    assert (check.result["verdict"], check.result["rule"]) == ("passes", None)
    assert any("Against the trivial baseline" in r for r in check.result["reasons"])
    change = TaskChampion.objects.get(task=task).current
    assert (change.by, change.submission_id, change.verdict) == ("gate", autogluon.pk, "passes")
    # From then on the full gate: a model that breaks 6% of its rows fails by the NFR rule.
    ann_sub = scored(
        submission_create(task=task, user=ann.user, file=upload(world.file(world.reference)))
    )
    assert decide(ann_sub) == "kept"
    kept = ChampionCheck.objects.get(submission=ann_sub, decides=True).result
    assert (kept["verdict"], kept["rule"]) == ("fails", "improvement")


def test_a_reference_marked_primary_replaces_the_trivial_start(bare):
    task, world, _ = bare
    assert champion_ensure(task=task).reference.source == ReferenceSource.TRIVIAL
    Webhook.objects.create(
        challenge=task.track.challenge, url="http://127.0.0.1:9/hook", secret="s"
    )
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    champion_tick(task_ids=lambda: [task.pk])  # the beat notices it without anyone asking
    current = TaskChampion.objects.get(task=task).current
    assert current.by == ChampionBy.INITIAL and current.reference.name == "production model"
    assert "marked primary replaces the trivial baseline" in current.reason
    assert list(
        ChampionChange.objects.filter(task=task).order_by("pk").values_list("label", flat=True)
    ) == ["Trivial baseline", "production model"]
    body = json.loads(WebhookDelivery.objects.get(event="champion").body)  # heard, once
    assert body["data"]["by"] == "initial" and body["data"]["verdict"] is None
    assert "(the start: the reference marked primary replaces the trivial baseline)" in body["text"]


def test_a_start_is_decided_again_on_a_new_data_version_and_a_gate_winner_stays(
    bare, tmp_path, django_capture_on_commit_callbacks
):
    task, world, ann = bare
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    first = champion_ensure(task=task)
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    bundle = tmp_path / "bundle-started"  # the same rows again: a new version all the same
    with django_capture_on_commit_callbacks(execute=True):
        task_bundle_replace(task=task, source=bundle, actor=organizer, reason="fresh labels")
    task.refresh_from_db()
    assert task.data_version == 2
    champion_tick(task_ids=lambda: [task.pk])
    current = TaskChampion.objects.get(task=task).current
    assert current.pk != first.pk and current.by == ChampionBy.INITIAL
    assert (current.reference_id, current.data_version) == (first.reference_id, 2)
    assert current.reason == "the start, decided again on data version 2"
    # An entry that passed the gate is no start: it stays on the next version.
    ann_sub = scored(
        submission_create(
            task=task, user=ann.user, file=upload(world.file(world.planted["few_flips"]))
        )
    )
    assert decide(ann_sub) == "crowned"
    task.data_version = 3
    task.save(update_fields=["data_version"])
    champion_tick(task_ids=lambda: [task.pk])
    assert TaskChampion.objects.get(task=task).current.submission_id == ann_sub.pk


@pytest.fixture
def small(tmp_path):
    """The widget-grades case (``champion_world.widget_grades``)."""
    challenge = ChallengeFactory(slug="widget-cup", daily_submission_limit=10)
    case = widget_grades(tmp_path, challenge_slug=challenge.slug)
    wu = make_participant(challenge, username="wu", name="Wu")
    return case.task, case.world, case.reference, case.better, wu


def test_cannot_tell_keeps_the_champion_by_default_and_crowns_where_the_console_says(
    small, admin_client
):
    task, world, reference, better, wu = small
    champion_ensure(task=task)
    first = scored(submission_create(task=task, user=wu.user, file=upload(world.file(better))))
    assert decide(first) == "cannot_tell"
    result = ChampionCheck.objects.get(submission=first, decides=True).result
    assert result["difference"] == pytest.approx(50 / 135)
    assert (result["verdict"], result["rule"], result["rows_needed"]) == ("cannot_tell", None, 183)
    assert TaskChampion.objects.get(task=task).current.reference.name == "production model"

    # The organizers choose to crown what the gate cannot tell about (console, audited).
    challenge = task.track.challenge
    url = f"/admin/challenges/challenge/{challenge.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="gate_cannot_tell"' in page and 'name="release_check_min_changed"' in page
    data = change_form_data(page, "challenge_form")
    data["gate_cannot_tell"] = ["crown"]
    data["_save"] = ["Save"]
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    challenge.refresh_from_db()
    assert challenge.gate_cannot_tell == "crown"
    event = AuditEvent.objects.get(action="challenge.change")
    assert event.before == {"gate_cannot_tell": "keep"}
    assert event.after == {"gate_cannot_tell": "crown"}

    second = scored(submission_create(task=task, user=wu.user, file=upload(world.file(better))))
    assert decide(second) == "crowned"
    step = champion_api(task)["history"][-1]
    assert (step["by"], step["verdict"], step["rule"], step["rows_needed"]) == (
        "gate",
        "cannot_tell",
        None,
        183,
    )
    page = Client().get(f"/tasks/{task.slug}/").content.decode()
    assert "crowned although the gate could not tell" in page


def test_an_autogluon_start_on_new_data_waits_for_the_baseline_run_again_on_it(
    bare, tmp_path, django_capture_on_commit_callbacks
):
    task, world, _ = bare
    old = baseline_submission(task, world.file(world.reference))
    assert champion_ensure(task=task).submission_id == old.pk
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        task_bundle_replace(
            task=task, source=tmp_path / "bundle-started", actor=organizer, reason="new labels"
        )
    task.refresh_from_db()
    run = make_run(task, status=AlgorithmRunStatus.QUEUED)  # queued again on the new data
    scored(Submission.objects.get(pk=old.pk))  # the old run's file, re-scored
    champion_tick(task_ids=lambda: [task.pk])
    current = TaskChampion.objects.get(task=task).current
    assert (current.submission_id, current.data_version) == (old.pk, 1)  # waits meanwhile
    run.status = AlgorithmRunStatus.SUCCEEDED
    run.save(update_fields=["status"])
    new = baseline_submission(task, world.file(world.planted["few_flips"]))
    assert decide(new) == "champion"  # the start decided again: no gate against the old run
    current = TaskChampion.objects.get(task=task).current
    assert (current.by, current.submission_id, current.data_version) == ("initial", new.pk, 2)
    assert current.reason == "the start, decided again on data version 2"
