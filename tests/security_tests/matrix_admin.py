"""Authorization-matrix rows for the admin console: the hand-written admin pages, and the
standard pages (changelist, add, change, delete, history) of every model ``admin.site``
registers, with the object each one opens and where the organizer's answer differs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib import admin
from knox.models import AuthToken

from challenges.models import Challenge, RulesAcceptance
from leaderboard.champion.services import champion_ensure
from leaderboard.models import LeaderboardEntry, TaskChampion
from tests.security_tests.matrix_case import LOGIN, OK, ORG_ONLY, REDIRECT, Case
from tests.security_tests.world import World

ADMIN: list[Case] = [
    Case("admin/", "/admin/", ORG_ONLY),
    Case("admin/health/", "/admin/health/", ORG_ONLY),
    # The login page answers everyone; a logged-in organizer is sent on to the index.
    Case("admin/login/", "/admin/login/", (OK, OK, OK, REDIRECT)),
    Case("admin/logout/", "/admin/logout/", (REDIRECT,) * 4, "POST"),
    Case("admin/password_change/", "/admin/password_change/", ORG_ONLY),
    Case("admin/password_change/done/", "/admin/password_change/done/", ORG_ONLY),
    Case(
        "admin/autocomplete/",
        "/admin/autocomplete/?app_label=scoring&model_name=submission&field_name=uploaded_by",
        ORG_ONLY,
    ),
    Case("admin/jsi18n/", "/admin/jsi18n/", ORG_ONLY),
    Case(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        "/admin/r/{challenge_ct}/{challenge_pk}/",
        (LOGIN, LOGIN, LOGIN, "404"),  # a challenge has no page of its own
    ),
    Case("admin/auth/user/<id>/password/", "/admin/auth/user/{user_a}/password/", ORG_ONLY),
    Case(
        "admin/(?P<app_label>auth|challenges|jobs|socialaccount|knox|account|datasets"
        "|scoring|leaderboard|algorithms|standings|notifications|discussion)/$",
        "/admin/scoring/",
        ORG_ONLY,
    ),
    Case("admin/(?P<url>.*)$", "/admin/no-such-page/", (LOGIN, LOGIN, LOGIN, "404")),
    Case("admin/datasets/task/import/", "/admin/datasets/task/import/", ORG_ONLY),
    Case(
        "admin/datasets/task/<int:object_id>/replace/",
        "/admin/datasets/task/{obj:datasets.task}/replace/",
        ORG_ONLY,
    ),
    Case(
        "admin/datasets/task/<int:object_id>/stress/",
        "/admin/datasets/task/{obj:datasets.task}/stress/",
        ORG_ONLY,
    ),
    Case(
        "admin/leaderboard/taskchampion/<int:object_id>/pin/",
        "/admin/leaderboard/taskchampion/{obj:leaderboard.taskchampion}/pin/",
        ORG_ONLY,
    ),
    Case("admin/algorithms/baselinerun/queue/", "/admin/algorithms/baselinerun/queue/", ORG_ONLY),
    Case(
        "admin/algorithms/baselinerun/<int:pk>/tail/",
        "/admin/algorithms/baselinerun/{run}/tail/",
        ORG_ONLY,
    ),
    Case(
        "admin/algorithms/baselinerun/<int:pk>/artifact/<str:name>/",
        "/admin/algorithms/baselinerun/{run}/artifact/fit.log/",
        ORG_ONLY,
    ),
    Case(
        "admin/algorithms/baselinerun/<int:pk>/cancel/",
        "/admin/algorithms/baselinerun/{run}/cancel/",
        (LOGIN, LOGIN, LOGIN, REDIRECT),
        "POST",
    ),
    Case(
        "admin/algorithms/baselinerun/<int:pk>/again/",
        "/admin/algorithms/baselinerun/{run}/again/",
        (LOGIN, LOGIN, LOGIN, REDIRECT),
        "POST",
    ),
]

# The object each registered admin model's change/delete/history pages open.
ADMIN_OBJECTS: dict[str, Callable[[World], Any]] = {
    "auth.group": lambda w: w.group.pk,
    "auth.user": lambda w: w.users["a"].pk,
    "knox.authtoken": lambda w: AuthToken.objects.filter(user=w.users["a"]).first().pk,
    "challenges.challenge": lambda w: w.challenge.pk,
    "challenges.track": lambda w: w.task.track.pk,
    "challenges.phase": lambda w: w.challenge.phases.order_by("start", "pk").first().pk,
    "challenges.team": lambda w: w.team_b.pk,
    "challenges.workerheartbeat": lambda w: w.heartbeat.pk,
    "challenges.rulesacceptance": lambda w: (
        RulesAcceptance.objects.get_or_create(
            user=w.users["a"], challenge=w.challenge, version=w.challenge.rules_version
        )[0].pk
    ),
    "account.emailaddress": lambda w: (
        EmailAddress.objects.get_or_create(
            user=w.users["a"], email="a@example.com", defaults={"verified": True}
        )[0].pk
    ),
    "socialaccount.socialaccount": lambda w: (
        SocialAccount.objects.get_or_create(
            user=w.users["a"], provider="org", uid="matrix-subject"
        )[0].pk
    ),
    "datasets.task": lambda w: w.task.pk,
    "scoring.submission": lambda w: w.submission_b.pk,
    "algorithms.baselinerun": lambda w: w.run.pk,
    "algorithms.algorithm": lambda w: w.algorithm.pk,
    "algorithms.algorithmrun": lambda w: w.algorithm_run.pk,
    "leaderboard.taskchampion": lambda w: _task_champion(w).pk,
    "leaderboard.taskboardmode": lambda w: w.task.pk,
    "leaderboard.ladderstep": lambda w: _ladder_step(w).pk,
    "leaderboard.leaderboardentry": lambda w: (
        LeaderboardEntry.objects.filter(task=w.task, split="private").first().pk
    ),
    "standings.finalstandings": lambda w: _ended_challenge_standings(w).pk,
    "standings.methodwriteup": lambda w: _writeup(w).pk,
    "notifications.announcement": lambda w: _announcement(w).pk,
    "notifications.webhook": lambda w: _webhook(w).pk,
    "notifications.webhookdelivery": lambda w: _delivery(w).pk,
    "notifications.maildelivery": lambda w: _mail(w).pk,
    "challenges.auditevent": lambda w: _audit_event(w).pk,
    "discussion.thread": lambda w: _thread(w).pk,
    "discussion.post": lambda w: _thread(w).posts.order_by("pk").first().pk,
    "jobs.jobclaim": lambda w: _job_claim(w).pk,
}


def _ladder_step(w: World):
    from leaderboard.models import LadderStep

    return LadderStep.objects.get_or_create(
        submission=w.submission_b,
        defaults={
            "task": w.submission_b.task,
            "team": w.submission_b.team,
            "mode": "plain",
            "key": "matrix",
            "climbed": True,
        },
    )[0]


def _job_claim(w: World):
    from django.utils import timezone

    from jobs.models import JobClaim

    return JobClaim.objects.get_or_create(
        job_type="scoring.tasks.score_submission",
        object_id=w.submission_b.pk,
        defaults={"token": "matrix", "holder": "matrix@host", "claimed_at": timezone.now()},
    )[0]


def _audit_event(w: World):
    from challenges.audit import audit_record

    return audit_record(actor=None, action="challenge.reveal", obj=w.challenge)


def _ended_challenge_standings(w: World):
    """Frozen standings of another, ended challenge (the world's one is still open)."""
    from datetime import timedelta

    from django.utils import timezone

    from standings.services import challenge_finish

    now = timezone.now()
    ended, _ = Challenge.objects.get_or_create(
        slug="matrix-ended",
        defaults={"title": "Ended", "start": now - timedelta(days=2), "end": now},
    )
    return challenge_finish(challenge=ended)[0]


def _writeup(w: World):
    from standings.models import MethodWriteup

    return MethodWriteup.objects.get_or_create(team=w.team_b, defaults={"title": "B's method"})[0]


def _announcement(w: World):
    from notifications.models import Announcement

    return Announcement.objects.get_or_create(challenge=w.challenge, title="News", body="b")[0]


def _webhook(w: World):
    from notifications.models import Webhook

    return Webhook.objects.get_or_create(
        challenge=w.challenge, url="https://hooks.example.org/x", defaults={"secret": "s"}
    )[0]


def _delivery(w: World):
    from notifications.models import WebhookDelivery

    return WebhookDelivery.objects.get_or_create(
        webhook=_webhook(w), event_key="matrix", defaults={"event": "reveal", "body": "{}"}
    )[0]


def _thread(w: World):
    """Team A's thread, its first post a's (made once, outside the requests' savepoints)."""
    from discussion.models import Thread
    from discussion.services import thread_create

    found = Thread.objects.filter(challenge=w.challenge, title="Team A's question").first()
    return found or thread_create(
        challenge=w.challenge, user=w.users["a"], title="Team A's question", body="Why *so*?"
    )


def _mail(w: World):
    from notifications.models import MailDelivery

    return MailDelivery.objects.get_or_create(
        user=w.users["b"],
        subject="matrix",
        defaults={"topic": "announcement", "body": "b"},
    )[0]


# What the organizer gets where a model admin differs from the usual 200.
ADMIN_ORGANIZER: dict[str, str] = {
    "datasets.task add": REDIRECT,  # tasks only enter through the bundle import form
    "algorithms.baselinerun add": "403",  # runs are queued by the actions, never typed in
    "algorithms.algorithmrun add": "403",  # runs are queued by the API or the page
    "challenges.rulesacceptance add": "403",  # only participants accept rules
    # Frozen standings are immutable; write-ups are the teams'; deliveries are a log.
    "standings.finalstandings add": "403",
    "challenges.phase delete": "403",  # a phase holds its entries: change its dates
    "standings.finalstandings delete": "403",
    "standings.methodwriteup add": "403",
    "notifications.webhookdelivery add": "403",
    # Derived rows and logs are read-only for everyone (issue 17: ReadOnlyAdminMixin).
    "notifications.webhookdelivery delete": "403",
    "notifications.maildelivery add": "403",
    "notifications.maildelivery delete": "403",
    "leaderboard.leaderboardentry add": "403",
    "leaderboard.leaderboardentry delete": "403",
    # A champion changes through the gate or the audited pin, never typed or deleted.
    "leaderboard.taskchampion add": "403",
    "leaderboard.taskchampion delete": "403",
    # A board mode changes through its audited form; ladder steps are the refresh's.
    "leaderboard.taskboardmode add": "403",
    "leaderboard.taskboardmode delete": "403",
    "leaderboard.ladderstep add": "403",
    "leaderboard.ladderstep delete": "403",
    "challenges.workerheartbeat add": "403",
    "challenges.workerheartbeat delete": "403",
    "jobs.jobclaim add": "403",
    "jobs.jobclaim delete": "403",
    "challenges.rulesacceptance delete": "403",
    "challenges.auditevent add": "403",
    "challenges.auditevent delete": "403",
    "scoring.submission add": "403",
    "scoring.submission delete": "403",
    "algorithms.baselinerun delete": "403",
    "algorithms.algorithmrun delete": "403",
    # API tokens are listed by prefix and revoked by an audited action (issue 25).
    "knox.authtoken add": "403",
    "knox.authtoken delete": "403",
    # The discussion is read in the console; moderation goes through the pages and the API,
    # with a reason and an audit event.
    "discussion.thread add": "403",
    "discussion.thread delete": "403",
    "discussion.post add": "403",
    "discussion.post delete": "403",
}
ADMIN_PAGES = {
    "changelist": "",
    "add": "add/",
    "history": "<path:object_id>/history/",
    "delete": "<path:object_id>/delete/",
    "change": "<path:object_id>/change/",
    "redirect": "<path:object_id>/",
}


def admin_model_cases() -> list[Case]:
    cases = []
    for model in admin.site._registry:
        label = model._meta.label_lower
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for page, suffix in ADMIN_PAGES.items():
            org = ADMIN_ORGANIZER.get(f"{label} {page}", REDIRECT if page == "redirect" else OK)
            cases.append(
                Case(
                    prefix + suffix,
                    "/" + prefix + suffix.replace("<path:object_id>", "{obj:" + label + "}"),
                    (LOGIN, LOGIN, LOGIN, org),
                )
            )
    return cases


def _task_champion(world: World) -> TaskChampion:
    champion_ensure(task=world.task)
    return TaskChampion.objects.get(task=world.task)
