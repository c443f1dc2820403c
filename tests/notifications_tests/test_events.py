"""Which events mail whom and reach which webhook, each once: reminders, reveal, new #1,
announcements, team changes, the final standings. Mails go through the broker (a real Redis)
and are then sent by the task's service to the real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from challenges.services import team_member_add
from leaderboard.refresh import task_leaderboard_refresh
from notifications import events
from notifications.models import Topic, Webhook, WebhookDelivery
from notifications.services import announcement_create
from standings.services import challenge_finish
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, add_member
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.broker import priority_lists
from tests.support.mails import deliver_taken

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(smtp_settings, broker):
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="life",
        title="Life",
        start=now - timedelta(days=20),
        end=now + timedelta(days=6, hours=12),
    )
    track = TrackFactory(challenge=challenge, slug="trk", title="Track")
    task = make_task(track, slug="life-task")
    ann_team, bo_team = make_team(challenge, "ann-team"), make_team(challenge, "bo-team")
    ann, ann2, bo = (UserFactory(email=f"{n}@example.org") for n in ("ann", "ann2", "bo"))
    add_member(ann_team, ann)
    add_member(ann_team, ann2)
    add_member(bo_team, bo)
    base = make_team(challenge, "AutoGluon", baseline=True)
    add_member(base, UserFactory(email="robot@example.org"))  # never a participant
    UserFactory(email="outsider@example.org")
    hook = Webhook.objects.create(challenge=challenge, url="http://127.0.0.1:9/x", secret="s3")
    broker.take()  # drop the "new member" mails the memberships above queued
    return {
        "challenge": challenge,
        "task": task,
        "teams": (ann_team, bo_team),
        "hook": hook,
        "users": (ann, ann2, bo),
        "inbox": smtp_settings,
        "broker": broker,
    }


def deliver_mails(w) -> list[tuple[str, str]]:
    """Send what waits on the notifications queue (as the worker would); (to, kind) pairs."""
    w["inbox"].clear()
    sent = deliver_taken(w["broker"].take())
    msgs = w["inbox"].messages
    assert len(msgs) == sent
    return sorted((str(m["To"]), str(m["X-Notification-Kind"])) for m in msgs)


def flush(redis_client):
    redis_client.delete(*priority_lists("notifications"))


def test_deadline_reminders_go_once_each_to_participants(
    world, redis_client, django_capture_on_commit_callbacks
):
    c = world["challenge"]
    flush(redis_client)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert events.deadline_reminders(now=now - timedelta(days=1)) == []  # 7.5 days left
        assert events.deadline_reminders(now=now) == ["life:7d"]
        assert events.deadline_reminders(now=now + timedelta(hours=1)) == []
    participants = [
        ("ann2@example.org", "deadline"),
        ("ann@example.org", "deadline"),
        ("bo@example.org", "deadline"),
    ]
    assert deliver_mails(world) == participants
    flush(redis_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert events.deadline_reminders(now=c.end - timedelta(hours=20)) == ["life:1d"]
        assert events.deadline_reminders(now=c.end - timedelta(hours=2)) == []
        assert events.deadline_reminders(now=c.end + timedelta(hours=1)) == []  # closed
    mails = deliver_mails(world)
    assert mails == participants
    assert "ends in 1 day" in world["inbox"].messages[0]["Subject"]


def test_reveal_is_announced_once_by_mail_and_webhook(
    world, redis_client, django_capture_on_commit_callbacks
):
    c = world["challenge"]
    flush(redis_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert events.reveals_check() == []
        c.private_revealed = True
        c.save()
        assert events.reveals_check() == ["life"]
        assert events.reveals_check() == []
    assert {k for _, k in deliver_mails(world)} == {"reveal"}
    (delivery,) = WebhookDelivery.objects.filter(event="reveal")
    assert delivery.body.startswith('{"blocks"') and '"text":"The private' in delivery.body


def test_new_leader_is_a_webhook_event_once_per_change(world):
    task = world["task"]
    ann_team, bo_team = world["teams"]
    scored(task, ann_team, 0.7, 0.7, minutes=1)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    events.board_refreshed(task_id=task.pk)
    events.board_refreshed(task_id=task.pk)  # same #1: nothing new
    scored(task, bo_team, 0.8, 0.8, minutes=2)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    events.board_refreshed(task_id=task.pk)
    leaders = WebhookDelivery.objects.filter(event="leader").order_by("pk")
    assert len(leaders) == 2 and all("is the new #1" in d.body for d in leaders)
    assert ["ann-team" in leaders[0].body, "bo-team" in leaders[1].body] == [True, True]


def test_announcement_is_sanitized_on_the_page_and_mailed_to_participants(
    world, django_capture_on_commit_callbacks
):
    c = world["challenge"]
    with django_capture_on_commit_callbacks(execute=True):
        announcement_create(
            challenge=c,
            user=None,
            title="Data fix",
            body="**Bold** news <script>alert(1)</script> [x](javascript:alert(2))",
        )
    page = Client().get("/c/life/").content.decode()
    assert "<strong>Bold</strong> news" in page
    assert "<script>alert" not in page and "javascript:" not in page
    assert deliver_mails(world) == [
        ("ann2@example.org", "announcement"),
        ("ann@example.org", "announcement"),
        ("bo@example.org", "announcement"),
    ]
    assert WebhookDelivery.objects.filter(event="announcement").count() == 1


def test_new_member_and_invitation_mails(world, django_capture_on_commit_callbacks):
    ann_team, _ = world["teams"]
    ann = world["users"][0]
    cy = UserFactory(username="cy", email="cy@example.org")
    client = Client()
    client.force_login(ann)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/teams/{ann_team.pk}/invite/", {"who": "CY@example.org"})
    assert deliver_mails(world) == [("cy@example.org", "team")]
    assert f"/join/{ann_team.invite_code}/" in world["inbox"].messages[0].get_body().get_content()
    with django_capture_on_commit_callbacks(execute=True):
        team_member_add(user=cy, code=ann_team.invite_code)
    assert deliver_mails(world) == [("ann2@example.org", "team"), ("ann@example.org", "team")]
    # Refusals: unknown user, already in a team, not a member of the team.
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/teams/{ann_team.pk}/invite/", {"who": "nobody"}, follow=True)
        assert b"No registered user" in r.content
        r = client.post(f"/teams/{ann_team.pk}/invite/", {"who": "bo@example.org"}, follow=True)
        assert b"already in a team" in r.content
    assert deliver_mails(world) == []


def test_final_standings_mail_and_webhook(world, django_capture_on_commit_callbacks):
    c = world["challenge"]
    ann_team, bo_team = world["teams"]
    scored(world["task"], ann_team, 0.7, 0.9, minutes=1)
    scored(world["task"], bo_team, 0.8, 0.6, minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        frozen, _ = challenge_finish(challenge=c, now=c.end + timedelta(minutes=1))
        challenge_finish(challenge=c, now=c.end + timedelta(minutes=2))
    assert {k for _, k in deliver_mails(world)} == {"standings"}
    text = world["inbox"].messages[0].get_body().get_content()
    # Frozen is not revealed (issue 25): the private ranking is sealed, so nobody is named.
    assert "named when the private leaderboard is revealed" in text and frozen.sha256 in text
    assert "ann-team" not in text and "bo-team" not in text
    (d,) = WebhookDelivery.objects.filter(event="standings")
    assert "ann-team" not in d.body and "bo-team" not in d.body
    assert frozen.sha256 in d.body


def test_final_standings_mail_names_the_winners_when_already_revealed(
    world, django_capture_on_commit_callbacks
):
    c = world["challenge"]
    c.private_revealed = True
    c.save()
    ann_team, bo_team = world["teams"]
    scored(world["task"], ann_team, 0.7, 0.9, minutes=1)
    scored(world["task"], bo_team, 0.8, 0.6, minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        challenge_finish(challenge=c, now=c.end + timedelta(minutes=1))
    deliver_mails(world)
    text = world["inbox"].messages[0].get_body().get_content()
    assert "#1 ann-team" in text and "#2 bo-team" in text


def test_writeup_reminders_go_to_top_teams_without_one(world, django_capture_on_commit_callbacks):
    from standings.models import MethodWriteup

    c = world["challenge"]
    c.writeups_required_top = 1
    c.save()
    ann_team, bo_team = world["teams"]
    scored(world["task"], ann_team, 0.9, 0.9, minutes=1)
    scored(world["task"], bo_team, 0.8, 0.8, minutes=2)
    task_leaderboard_refresh(task_id=world["task"].pk, bootstrap=False)
    with django_capture_on_commit_callbacks(execute=True):
        events.deadline_reminders(now=c.end - timedelta(hours=3))
    mails = deliver_mails(world)
    assert ("ann@example.org", "writeup") in mails and ("bo@example.org", "writeup") not in mails
    MethodWriteup.objects.create(team=ann_team, title="M", body="b")
    assert events.writeup_reminders(challenge=c, stamp="again") == []


def test_kind_labels_cover_every_kind():
    assert {k.value for k in Topic} >= {
        "submission_failed",
        "submission_scored",
        "team",
        "announcement",
        "reveal",
        "deadline",
        "standings",
    }


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/x",
        "ftp://example.org/",
        "javascript:alert(1)",
        "http://user:pw@example.org/hook",
        "http:///nohost",
        "example.org/hook",
    ],
)
def test_webhook_urls_other_than_http_are_refused_in_the_console(url):
    from notifications.forms import WebhookAdminForm

    challenge = ChallengeFactory()
    form = WebhookAdminForm(
        data={"challenge": challenge.pk, "url": url, "secret": "s", "is_active": "on"}
    )
    assert not form.is_valid() and "url" in form.errors
    ok = WebhookAdminForm(
        data={
            "challenge": challenge.pk,
            "url": "https://hooks.example.org/x",
            "secret": "s",
            "is_active": "on",
            "events": ["reveal"],
        }
    )
    assert ok.is_valid(), ok.errors


def test_a_stored_unsafe_url_is_never_called(settings):
    from notifications.webhooks import webhook_deliver

    challenge = ChallengeFactory()
    hook = Webhook.objects.create(challenge=challenge, url="file:///etc/passwd", secret="s")
    d = WebhookDelivery.objects.create(webhook=hook, event="reveal", event_key="k", body="{}")
    assert webhook_deliver(delivery_pk=d.pk) == "failed"
    d.refresh_from_db()
    assert d.last_error.startswith("refused") and d.response_code is None
    settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS = True
    hook.url = "http://127.0.0.1:9/x"
    hook.save()
    d2 = WebhookDelivery.objects.create(webhook=hook, event="reveal", event_key="k2", body="{}")
    assert webhook_deliver(delivery_pk=d2.pk) == "failed"
    d2.refresh_from_db()
    assert "127.0.0.1, which is not a public address" in d2.last_error


def test_new_task_data_is_announced_once_per_version_with_the_reason(
    world, redis_client, django_capture_on_commit_callbacks
):
    """A replaced bundle re-scores every submission: participants hear why, once."""
    from challenges import hooks
    from datasets.models import TaskVersion
    from notifications.hooks import on_task_data_changed

    assert on_task_data_changed in hooks.receivers(event=hooks.TaskDataChanged)  # in ready()
    task = world["task"]
    task.data_version = 2
    task.save(update_fields=["data_version"])
    TaskVersion.objects.create(task=task, number=2, note="labels of 40 rows fixed")
    flush(redis_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert events.task_data_changed(task_id=task.pk) is True
        assert events.task_data_changed(task_id=task.pk) is False  # once per version
    mails = deliver_mails(world)
    ann, ann2, bo = world["users"]
    assert mails == sorted((u.email, "task_data") for u in (ann, ann2, bo))  # not the robot
    body = world["inbox"].messages[0].get_payload()
    assert "version 2" in body and "labels of 40 rows fixed" in body
    (delivery,) = WebhookDelivery.objects.filter(event="task_data")
    assert '"version":2' in delivery.body and "labels of 40 rows fixed" in delivery.body
