"""The audit log: every organizer action writes exactly one event (with its reason where the
action asks for one), through the real console, the API and the services; the log itself
cannot be changed, not even by a superuser."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmVersion, BaselineRun
from algorithms.services.baseline import baseline_run_queue
from challenges.audit import ReasonRequired, audit_record
from challenges.models import AuditEvent, AuditRefused, Challenge, Team
from challenges.services import team_visibility_set
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission
from standings.models import FinalStandings
from standings.services import StandingsError, challenge_finish, standings_refreeze
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, add_member
from tests.console_tests.helpers import change_form_data
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db

_START = {"pk": 0}


@pytest.fixture(autouse=True)
def _only_this_tests_events():
    """Rows other test modules left (their module-scoped data) are not this test's."""
    _START["pk"] = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def new_events():
    return AuditEvent.objects.filter(pk__gt=_START["pk"])


@pytest.fixture
def organizer():
    return get_user_model().objects.create_user(
        "org", password="x", is_staff=True, is_superuser=True
    )


@pytest.fixture
def console(client, organizer):
    client.force_login(organizer)
    return client


@pytest.fixture
def world():
    challenge = ChallengeFactory(slug="c")
    track = TrackFactory(challenge=challenge, slug="tr")
    task = make_task(track, slug="t")
    team = make_team(challenge, "ann")
    submission = scored(task, team, 0.9, 0.7)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return challenge, track, task, team, submission


def _form_errors(response) -> str:
    context = response.context
    form = context["adminform"].form
    inlines = [f.formset.errors for f in context["inline_admin_formsets"]]
    return f"{form.errors} {inlines}"


def _action(console, url: str, action: str, pks: list[int], **extra):
    return console.post(url, {"action": action, "_selected_action": pks, **extra})


def _only_event(**filters) -> AuditEvent:
    events = list(new_events().filter(**filters))
    assert len(events) == 1, [str(e) for e in new_events()]
    assert new_events().count() == 1, [str(e) for e in new_events()]
    return events[0]


def test_hiding_a_team_asks_for_a_reason_and_records_it_once(console, organizer, world):
    _c, _tr, _t, team, _s = world
    url = "/admin/challenges/team/"
    page = _action(console, url, "hide_teams", [team.pk])
    assert page.status_code == 200 and b'id="action-reason-form"' in page.content
    blank = _action(console, url, "hide_teams", [team.pk], apply="1", reason="  ")
    assert blank.status_code == 200 and b"This field is required" in blank.content
    team.refresh_from_db()
    assert not team.is_hidden and new_events().count() == 0
    _action(console, url, "hide_teams", [team.pk], apply="1", reason="shared the labels")
    team.refresh_from_db()
    event = _only_event(action="team.hide")
    assert team.is_hidden
    assert (event.actor, event.actor_name, event.reason) == (organizer, "org", "shared the labels")
    assert (event.object_type, event.object_id) == ("challenges.Team", str(team.pk))
    assert event.before == {"is_hidden": False} and event.after == {"is_hidden": True}
    assert event.challenge == team.challenge


def test_restoring_a_team_records_one_event(console, world):
    _c, _tr, _t, team, _s = world
    Team.objects.filter(pk=team.pk).update(is_hidden=True)
    _action(console, "/admin/challenges/team/", "restore_teams", [team.pk], apply="1")
    assert _only_event(action="team.restore").after == {"is_hidden": False}


def test_hiding_and_restoring_a_submission(console, world):
    *_, submission = world
    url = "/admin/scoring/submission/"
    _action(console, url, "hide_submissions", [submission.pk], apply="1", reason="")
    assert not Submission.objects.get(pk=submission.pk).is_hidden  # refused: no reason
    _action(console, url, "hide_submissions", [submission.pk], apply="1", reason="late")
    assert _only_event(action="submission.hide").reason == "late"
    _action(console, url, "restore_submissions", [submission.pk])
    assert new_events().filter(action="submission.restore").count() == 1


@pytest.mark.parametrize(
    ("action", "recorded"),
    [("rescore_submissions", "submission.rescore"), ("rescore_tasks", "task.rescore")],
)
def test_rescoring_records_one_event(console, world, action, recorded):
    *_, submission = world
    _action(console, "/admin/scoring/submission/", action, [submission.pk])
    event = _only_event(action=recorded)
    assert event.actor_name == "org"


@pytest.mark.parametrize(
    ("action", "recorded"),
    [("reveal_private", "challenge.reveal"), ("hide_private", "challenge.unreveal")],
)
def test_reveal_records_one_event(console, world, action, recorded):
    challenge = world[0]
    Challenge.objects.filter(pk=challenge.pk).update(private_revealed=action == "hide_private")
    _action(console, "/admin/challenges/challenge/", action, [challenge.pk])
    assert _only_event(action=recorded).challenge == challenge


def test_changing_dates_limits_and_rules_records_before_and_after(console, world):
    challenge = world[0]
    url = f"/admin/challenges/challenge/{challenge.pk}/change/"
    data = change_form_data(console.get(url).content.decode(), "challenge_form")
    old_limit = challenge.daily_submission_limit
    data["daily_submission_limit"] = [str(old_limit + 3)]
    data["rules"] = ["Be fair."]
    response = console.post(url, data)
    assert response.status_code == 302, _form_errors(response)
    event = _only_event(action="challenge.change")
    assert event.before == {"daily_submission_limit": old_limit, "rules": challenge.rules}
    assert event.after == {"daily_submission_limit": old_limit + 3, "rules": "Be fair."}
    # Saving again without a change records nothing.
    console.post(url, change_form_data(console.get(url).content.decode(), "challenge_form"))
    assert new_events().count() == 1


def test_changing_a_track_records_one_event(console, world):
    track = world[1]
    url = f"/admin/challenges/track/{track.pk}/change/"
    data = change_form_data(console.get(url).content.decode(), "track_form")
    data["order"] = ["7"]
    assert console.post(url, data).status_code == 302
    event = _only_event(action="track.change")
    assert event.before == {"order": 0} and event.after == {"order": 7}


def test_baseline_start_and_cancel_record_one_event_each(console, organizer, world):
    task = world[2]
    run = baseline_run_queue(task=task, actor=organizer)
    assert _only_event(action="baseline_run.start").object_id == str(run.pk)
    _action(console, "/admin/algorithms/baselinerun/", "cancel", [run.pk])
    assert BaselineRun.objects.get(pk=run.pk).status == "cancelled"
    assert new_events().filter(action="baseline_run.cancel").count() == 1
    assert new_events().count() == 2


def _algorithm_run(task, team) -> AlgorithmRun:
    algorithm = Algorithm.objects.create(challenge=team.challenge, team=team, name="a")
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="x", archive_sha256="0" * 64
    )
    return AlgorithmRun.objects.create(version=version, task=task, status="queued")


def test_cancelling_another_teams_run_through_the_api_needs_a_reason(organizer, world):
    _c, _tr, task, team, _s = world
    run = _algorithm_run(task, team)
    api = APIClient()
    api.force_authenticate(organizer)
    refused = api.post(f"/api/v1/algorithm-runs/{run.pk}/cancel/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    assert AlgorithmRun.objects.get(pk=run.pk).status == "queued"
    assert new_events().count() == 0
    done = api.post(
        f"/api/v1/algorithm-runs/{run.pk}/cancel/", {"reason": "uses the test set"}, format="json"
    )
    assert done.status_code == 200
    assert _only_event(action="algorithm_run.cancel").reason == "uses the test set"


def test_a_team_cancelling_its_own_run_is_not_an_organizer_decision(world):
    _c, _tr, task, team, _s = world
    member = get_user_model().objects.create_user("member", password="x")
    add_member(team, member)
    run = _algorithm_run(task, team)
    api = APIClient()
    api.force_authenticate(member)
    assert api.post(f"/api/v1/algorithm-runs/{run.pk}/cancel/").status_code == 200
    assert new_events().count() == 0


def test_cancelling_a_run_in_the_console_asks_for_a_reason(console, world):
    _c, _tr, task, team, _s = world
    run = _algorithm_run(task, team)
    url = "/admin/algorithms/algorithmrun/"
    assert b'id="action-reason-form"' in _action(console, url, "cancel", [run.pk]).content
    _action(console, url, "cancel", [run.pk], apply="1", reason="sandbox escape attempt")
    assert AlgorithmRun.objects.get(pk=run.pk).status == "cancelled"
    assert _only_event(action="algorithm_run.cancel").reason == "sandbox escape attempt"


def test_freezing_the_standings_records_one_event(organizer, world):
    challenge = world[0]
    Challenge.objects.filter(pk=challenge.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    challenge.refresh_from_db()
    frozen, created = challenge_finish(challenge=challenge, actor=organizer)
    assert created
    assert _only_event(action="standings.freeze").after == {"sha256": frozen.sha256}
    challenge_finish(challenge=challenge, actor=organizer)  # idempotent: nothing new
    assert new_events().count() == 1


def test_a_person_hiding_without_reason_is_refused_by_the_service(organizer, world):
    team = world[3]
    with pytest.raises(ReasonRequired):
        team_visibility_set(team=team, hidden=True, actor=organizer, reason=" ")
    team.refresh_from_db()
    assert not team.is_hidden and new_events().count() == 0


def test_the_log_cannot_be_changed_through_the_console_even_by_a_superuser(console, organizer):
    challenge = ChallengeFactory()
    event = audit_record(
        actor=organizer, action="challenge.reveal", obj=challenge, after={"x": 1}, reason="r"
    )
    before = list(AuditEvent.objects.values())
    base = "/admin/challenges/auditevent/"
    forged = {"action": "nothing", "reason": "", "actor_name": "someone else"}
    assert console.post(f"{base}add/", forged).status_code == 403
    assert console.post(f"{base}{event.pk}/change/", forged).status_code == 403
    assert console.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = console.post(
        base, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert list(AuditEvent.objects.values()) == before
    # The model refuses too (a shell, a bug): no update, no delete.
    event.reason = "rewritten"
    with pytest.raises(AuditRefused):
        event.save()
    with pytest.raises(AuditRefused):
        event.delete()
    with pytest.raises(AuditRefused):
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(AuditRefused):
        AuditEvent.objects.all().delete()
    assert list(AuditEvent.objects.values()) == before


def test_the_log_is_listed_filtered_searched_and_exported(console, organizer, world):
    challenge, _tr, _t, team, submission = world
    team_visibility_set(team=team, hidden=True, actor=organizer, reason="=cmd|cheating")
    audit_record(actor=None, action="challenge.reveal", obj=challenge)
    base = "/admin/challenges/auditevent/"
    listing = console.get(base).content.decode()
    assert "=cmd|cheating" in listing and "challenge.reveal" in listing
    filtered = console.get(f"{base}?action=team.hide").context["cl"].result_list
    assert [e.action for e in filtered] == ["team.hide"]
    searched = console.get(f"{base}?q=cheating").context["cl"].result_list
    assert [e.action for e in searched] == ["team.hide"]
    assert console.get(f"{base}?actor__id__exact={organizer.pk}").status_code == 200
    ids = list(new_events().values_list("pk", flat=True))
    export = console.post(base, {"action": "export_csv", "_selected_action": ids})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:3] == ["at", "actor", "action"] and len(rows) == 3
    hide = next(r for r in rows if r[2] == "team.hide")
    assert hide[1] == "org" and hide[-1] == "'=cmd|cheating"  # CSV injection neutralized


def test_importing_a_bundle_records_one_event(console, organizer, tmp_path):
    from datasets.services import task_import
    from testkit.bundles import write_classification_bundle

    folder = write_classification_bundle(tmp_path / "b", task={"slug": "shapes"})
    task = task_import(source=folder, challenge_slug="c2", track_slug="k", actor=organizer)
    event = _only_event(action="task.import")
    assert (event.object_id, event.actor_name) == (str(task.pk), "org")
    assert event.after["slug"] == "shapes" and event.challenge.slug == "c2"


def _ended(challenge):
    Challenge.objects.filter(pk=challenge.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    challenge.refresh_from_db()
    return challenge


def test_refreezing_after_a_late_disqualification_asks_a_reason_and_keeps_the_old_digest(
    console, organizer, world
):
    challenge, _, task, team, _ = world
    _ended(challenge)
    frozen, _ = challenge_finish(challenge=challenge, actor=organizer)
    old_sha, old_text = frozen.sha256, frozen.canonical
    assert team.name in old_text
    team_visibility_set(team=team, hidden=True, actor=organizer, reason="shared accounts")
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    start = new_events().count()

    url = "/admin/standings/finalstandings/"
    page = _action(console, url, "refreeze", [frozen.pk])
    assert b'id="action-reason-form"' in page.content  # asks first, changes nothing
    assert FinalStandings.objects.get(pk=frozen.pk).sha256 == old_sha
    _action(console, url, "refreeze", [frozen.pk], apply="1", reason="ann disqualified late")

    again = FinalStandings.objects.get(challenge=challenge)
    assert again.sha256 != old_sha and team.name not in again.canonical
    events = list(new_events().filter(action="standings.refreeze"))
    assert new_events().count() == start + 1 and len(events) == 1
    event = events[0]
    assert event.reason == "ann disqualified late" and event.actor == organizer
    assert event.before["sha256"] == old_sha and event.before["canonical"] == old_text
    assert event.after["sha256"] == again.sha256
    # The document served to everyone is the corrected one, and its digest checks out.
    body = APIClient().get(f"/api/v1/challenges/{challenge.slug}/standings/").json()
    assert body["sha256"] == again.sha256


def test_refreezing_unchanged_boards_or_unfrozen_standings_changes_nothing(organizer, world):
    challenge = _ended(world[0])
    with pytest.raises(StandingsError, match="not frozen yet"):
        standings_refreeze(challenge=challenge, actor=organizer, reason="x")
    frozen, _ = challenge_finish(challenge=challenge, actor=organizer)
    with pytest.raises(ReasonRequired):
        standings_refreeze(challenge=challenge, actor=organizer, reason="  ")
    same, changed = standings_refreeze(challenge=challenge, actor=organizer, reason="check")
    assert not changed and same.sha256 == frozen.sha256
    assert list(new_events().values_list("action", flat=True)) == ["standings.freeze"]


def test_the_command_refreezes_only_with_a_reason(organizer, world):
    challenge, _, task, team, _ = world
    _ended(challenge)
    frozen, _ = challenge_finish(challenge=challenge, actor=organizer)
    with pytest.raises(CommandError, match="needs --reason"):
        call_command("finish_challenge", challenge.slug, "--refreeze")
    team_visibility_set(team=team, hidden=True, actor=organizer, reason="late finding")
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    out = io.StringIO()
    call_command(
        "finish_challenge", challenge.slug, "--refreeze", "--reason", "late finding", stdout=out
    )
    assert "re-frozen" in out.getvalue()
    event = new_events().get(action="standings.refreeze")
    assert event.reason == "late finding" and event.before["sha256"] == frozen.sha256
