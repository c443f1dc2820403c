"""Every URL of the site, requested as anonymous / team A / team B / organizer / task owner.

The task owner is a member of team C, the team that contributed ``owned_task``'s data: it
manages that task only (its baseline, its submissions after the reveal); everywhere else it
is a participant like the others (``Case.owner``, by default what team A and B get).

The matrix below holds one or more cases per URL pattern, each with the status class every
role must get. ``test_every_url_pattern_has_an_expectation`` walks the URL conf, so a new
URL without a row here fails the suite. Standard admin pages (changelist, add, change,
delete, history) get their rows from ``admin.site``'s registry; an admin model without an
object to point at, and any custom admin URL, must be added by hand.

Each response a non-organizer receives is also searched for what only organizers may see:
the solution (bytes, id/label lines, the private ids), private and all-rows scores before
the reveal, and the other team's notes and files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from knox.models import AuthToken

from challenge_platform.models import Challenge, RulesAcceptance
from leaderboard.models import LeaderboardEntry
from tests.security_tests.conftest import ROLES, client_for
from tests.security_tests.matrix_accounts import ACCOUNT_API, ACCOUNT_SITE
from tests.security_tests.matrix_case import (
    ALL_OK,
    API_LOGGED_IN,
    LOGGED_IN,
    LOGIN,
    OK,
    ORG_ONLY,
    REDIRECT,
    Case,
)
from tests.security_tests.world import PASSWORD, World, algorithm_archive, value_forms

pytestmark = pytest.mark.django_db


def upload(world: World) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("p.csv", world.files["a"]), "note": "matrix"}


def bad_login(world: World) -> dict[str, Any]:
    return {"username": world.users["a"].username, "password": "not-" + PASSWORD}


SITE: list[Case] = [
    Case("", "/", ALL_OK),
    Case("healthz", "/healthz", ALL_OK),  # the load balancer's check: "ok", nothing else
    Case("favicon.ico", "/favicon.ico", (REDIRECT,) * 4),  # to the static icon, for everyone
    Case("c/<slug:slug>/", "/c/{challenge}/", ALL_OK),
    # Everyone logged in is refused (already in a team) or creates one, and is sent back.
    Case(
        "c/<slug:slug>/teams/new/",
        "/c/{challenge}/teams/new/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
        lambda w: {"name": "Matrix team"},
    ),
    Case("c/<slug:slug>/teams/new/", "/c/{challenge}/teams/new/", (LOGIN, "405", "405", "405")),
    Case("join/", "/join/", LOGGED_IN),
    Case(
        "join/",
        "/join/",
        (LOGIN, "400", REDIRECT, REDIRECT),  # a has a team; b is already in B; org joins B
        "POST",
        lambda w: {"code": w.team_b.invite_code},
        owner="400",  # in team C already
    ),
    Case("join/<str:code>/", "/join/{code_a}/", LOGGED_IN),
    Case("teams/<int:pk>/", "/teams/{team_a}/", ALL_OK),
    Case("teams/<int:pk>/", "/teams/{team_b}/", ALL_OK),
    Case(
        "teams/<int:pk>/leave/",
        "/teams/{team_a}/leave/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
    ),
    Case("teams/<int:pk>/leave/", "/teams/{team_a}/leave/", (LOGIN, "405", "405", "405")),
    Case("account/token/", "/account/token/", LOGGED_IN),
    Case("account/token/", "/account/token/", LOGGED_IN, "POST"),
    Case("accounts/login/", "/accounts/login/", ALL_OK),
    Case("accounts/login/", "/accounts/login/", ALL_OK, "POST", bad_login),
    Case("accounts/logout/", "/accounts/logout/", ("405", "405", "405", "405")),
    Case("accounts/logout/", "/accounts/logout/", (REDIRECT,) * 4, "POST"),
    # Datasets: the solution is a 404 for everyone but organizers, whatever the route.
    Case("tasks/<slug:slug>/", "/tasks/{task}/", ALL_OK),
    Case("tasks/<slug:slug>/files/<str:name>", "/tasks/{task}/files/train.csv", LOGGED_IN),
    Case("tasks/<slug:slug>/files/<str:name>", "/tasks/{task}/files/test.parquet", LOGGED_IN),
    Case(
        "tasks/<slug:slug>/files/<str:name>",
        "/tasks/{task}/files/solution.parquet",
        ("404", "404", "404", OK),
    ),
    Case(
        "tasks/<slug:slug>/files/<str:name>",
        "/tasks/{task}/files/solution.csv",
        (LOGIN, "404", "404", "404"),
    ),
    # Scoring pages: someone else's submission looks like a missing one.
    Case("tasks/<slug:slug>/submit/", "/tasks/{task}/submit/", LOGGED_IN),
    Case(
        "tasks/<slug:slug>/submit/",
        "/tasks/{task}/submit/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
        upload,
    ),
    Case("submissions/", "/submissions/", LOGGED_IN),
    Case("submissions/<int:pk>/", "/submissions/{sub_a}/", (LOGIN, OK, "404", OK), owner="404"),
    Case("submissions/<int:pk>/", "/submissions/{sub_b}/", (LOGIN, "404", OK, OK), owner="404"),
    # Only the submission's team may choose it as final; to anyone else it does not exist.
    Case(
        "submissions/<int:pk>/final/",
        "/submissions/{sub_a}/final/",
        (LOGIN, REDIRECT, "404", REDIRECT),
        "POST",
        lambda w: {"final": "1"},
        owner="404",
    ),
    Case(
        "submissions/<int:pk>/final/", "/submissions/{sub_a}/final/", (LOGIN, "405", "405", "405")
    ),
    # Leaderboards: public for all; private only for organizers until the reveal.
    Case("tasks/<slug:slug>/leaderboard/", "/tasks/{task}/leaderboard/", ALL_OK),
    Case(
        "tasks/<slug:slug>/leaderboard/",
        "/tasks/{task}/leaderboard/?split=private",
        ("404", "404", "404", OK),
        private=True,
    ),
    Case("tasks/<slug:slug>/leaderboard.csv", "/tasks/{task}/leaderboard.csv", ALL_OK),
    Case(
        "tasks/<slug:slug>/leaderboard.csv",
        "/tasks/{task}/leaderboard.csv?split=private",
        ("404", "404", "404", OK),
        private=True,
    ),
    Case("tasks/<slug:slug>/shakeup/", "/tasks/{task}/shakeup/", ORG_ONLY),
    Case("tracks/<slug:slug>/", "/tracks/{track}/", ALL_OK),
    Case(
        "tracks/<slug:slug>/",
        "/tracks/{track}/?split=private",
        ("404", "404", "404", OK),
        private=True,
    ),
    Case("tracks/<slug:slug>/transfer/", "/tracks/{track}/transfer/", ALL_OK),
    Case(
        "tracks/<slug:slug>/transfer/",
        "/tracks/{track}/transfer/?split=private",
        ("404", "404", "404", OK),
        private=True,
    ),
    # Algorithms: another team's algorithm or run looks like a missing one.
    Case("algorithms/", "/algorithms/", LOGGED_IN),
    Case("algorithms/upload/", "/algorithms/upload/", (LOGIN, "405", "405", "405")),
    Case(
        "algorithms/upload/",
        "/algorithms/upload/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),  # no file: sent back with a message
        "POST",
    ),
    Case("algorithms/<int:pk>/", "/algorithms/{algo_a}/", (LOGIN, OK, "404", OK), owner="404"),
    Case(
        "algorithms/<int:pk>/run/",
        "/algorithms/{algo_a}/run/",
        (LOGIN, REDIRECT, "404", REDIRECT),
        "POST",
        lambda w: {"task": w.task.slug},
        owner="404",
    ),
    Case(
        "algorithms/<int:pk>/versions/<int:number>/mark/",
        "/algorithms/{algo_a}/versions/1/mark/",
        # the organizer sees the page but marks for no team: a message, nothing changes
        (LOGIN, REDIRECT, "404", REDIRECT),
        "POST",
        lambda w: {"benchmark": "out"},
        owner="404",
    ),
    Case(
        "algorithm-runs/<int:pk>/cancel/",
        "/algorithm-runs/{algo_run_a}/cancel/",
        (LOGIN, REDIRECT, "404", REDIRECT),  # already finished: a message, nothing changes
        "POST",
        owner="404",
    ),
    Case("tracks/<slug:slug>/leaderboard.csv", "/tracks/{track}/leaderboard.csv", ALL_OK),
    Case(
        "tracks/<slug:slug>/leaderboard.csv",
        "/tracks/{track}/leaderboard.csv?split=private",
        ("404", "404", "404", OK),
        private=True,
    ),
    # The end (issue 12): winners, write-ups (the team's own until the end), post-challenge.
    Case("tracks/<slug:slug>/winners/", "/tracks/{track}/winners/", ALL_OK),
    Case("teams/<int:pk>/method/", "/teams/{team_a}/method/", ("404", OK, "404", OK), owner="404"),
    Case(
        "teams/<int:pk>/method/edit/",
        "/teams/{team_a}/method/edit/",
        (LOGIN, OK, "404", "404"),
        owner="404",
    ),
    Case(
        "teams/<int:pk>/method/edit/",
        "/teams/{team_a}/method/edit/",
        (LOGIN, "400", "404", "404"),
        "POST",
        lambda w: {"title": ""},
        owner="404",
    ),
    Case("teams/<int:pk>/method.pdf", "/teams/{team_a}/method.pdf", ("404",) * 4),
    Case("tasks/<slug:slug>/post-challenge/", "/tasks/{task}/post-challenge/", ALL_OK),
    Case(
        "tasks/<slug:slug>/post-challenge/",
        "/tasks/{task}/post-challenge/?split=private",
        ("404", "404", "404", OK),
        private=True,
    ),
    # Notifications: own settings; an unsubscribe token is its own credential.
    Case("notifications/settings/", "/notifications/settings/", LOGGED_IN),
    Case(
        "notifications/settings/",
        "/notifications/settings/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
        lambda w: {"team": "on"},
    ),
    Case("notifications/unsubscribe/<str:token>/", "/notifications/unsubscribe/forged/", ALL_OK),
    Case(
        "notifications/unsubscribe/<str:token>/",
        "/notifications/unsubscribe/forged/",
        ("400",) * 4,
        "POST",
    ),
    Case(
        "teams/<int:pk>/invite/",
        "/teams/{team_a}/invite/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),  # b and org: refused with a message
        "POST",
        lambda w: {"who": w.users["b"].username},
    ),
    Case("teams/<int:pk>/invite/", "/teams/{team_a}/invite/", (LOGIN, "405", "405", "405")),
]
SITE += ACCOUNT_SITE

API: list[Case] = [
    Case("api/v1/schema/", "/api/v1/schema/", ALL_OK),
    Case("api/v1/docs/", "/api/v1/docs/", ALL_OK),
    Case("api/v1/auth/token/", "/api/v1/auth/token/", ("400",) * 4, "POST", bad_login),
    Case("api/v1/auth/token/", "/api/v1/auth/token/", ("405", "405", "405", "405")),
    Case("api/v1/challenges/", "/api/v1/challenges/", ALL_OK),
    Case(
        "api/v1/challenges/<slug:slug>/teams/",
        "/api/v1/challenges/{challenge}/teams/",
        ("401", "409", "409", "201"),
        "POST",
        lambda w: {"name": "Matrix API team"},
    ),
    Case(
        "api/v1/teams/join/",
        "/api/v1/teams/join/",
        ("401", OK, "409", OK),  # a is already in A; b is in B; org joins A
        "POST",
        lambda w: {"code": w.team_a.invite_code},
        owner="409",
    ),
    Case("api/v1/tasks/", "/api/v1/tasks/", ALL_OK),
    Case("api/v1/tasks/<slug:slug>/", "/api/v1/tasks/{task}/", ALL_OK),
    Case(
        "api/v1/tasks/<slug:slug>/files/<str:name>",
        "/api/v1/tasks/{task}/files/train.parquet",
        API_LOGGED_IN,
    ),
    Case(
        "api/v1/tasks/<slug:slug>/files/<str:name>",
        "/api/v1/tasks/{task}/files/test.csv",
        API_LOGGED_IN,
    ),
    Case(
        "api/v1/tasks/<slug:slug>/files/<str:name>",
        "/api/v1/tasks/{task}/files/solution.parquet",
        ("401", "404", "404", OK),
    ),
    Case(
        "api/v1/tasks/<slug:slug>/submissions/",
        "/api/v1/tasks/{task}/submissions/",
        ("401", "201", "201", "403"),  # the organizer is in no team
        "POST",
        upload,
    ),
    Case("api/v1/submissions/", "/api/v1/submissions/", API_LOGGED_IN),
    Case(
        "api/v1/submissions/<int:pk>/",
        "/api/v1/submissions/{sub_a}/",
        ("401", OK, "404", OK),
        owner="404",
    ),
    Case(
        "api/v1/submissions/<int:pk>/",
        "/api/v1/submissions/{sub_b}/",
        ("401", "404", OK, OK),
        owner="404",
    ),
    Case(
        "api/v1/challenges/<slug:slug>/algorithms/",
        "/api/v1/challenges/{challenge}/algorithms/",
        ("401", "201", "201", "403"),  # the organizer is in no team
        "POST",
        lambda w: {"file": SimpleUploadedFile("a.zip", algorithm_archive())},
    ),
    Case(
        "api/v1/challenges/<slug:slug>/algorithm-runs/admission/",
        "/api/v1/challenges/{challenge}/algorithm-runs/admission/?tasks={task}",
        ("401", OK, OK, "403"),  # asked before an upload; the organizer is in no team
    ),
    Case("api/v1/algorithms/", "/api/v1/algorithms/", API_LOGGED_IN),
    Case(
        "api/v1/algorithms/<int:pk>/",
        "/api/v1/algorithms/{algo_a}/",
        ("401", OK, "404", OK),
        owner="404",
    ),
    Case(
        "api/v1/algorithms/<int:pk>/runs/",
        "/api/v1/algorithms/{algo_a}/runs/",
        ("401", "202", "404", "202"),  # the organizer's run feeds the transfer matrix only
        "POST",
        lambda w: {"tasks": [w.task.slug]},
        owner="404",
    ),
    Case(
        "api/v1/algorithms/<int:pk>/versions/<int:number>/",
        "/api/v1/algorithms/{algo_a}/versions/1/",
        ("401", OK, "404", OK),  # marking it (PATCH): its team only, tests/algorithms_tests
        owner="404",
    ),
    Case(
        "api/v1/challenges/<slug:slug>/benchmark/",
        "/api/v1/challenges/{challenge}/benchmark/",
        ALL_OK,  # counts of re-runs, like the challenge list
    ),
    Case(
        "api/v1/algorithm-runs/<int:pk>/",
        "/api/v1/algorithm-runs/{algo_run_a}/",
        ("401", OK, "404", OK),
        owner="404",
    ),
    Case(
        "api/v1/algorithm-runs/<int:pk>/cancel/",
        "/api/v1/algorithm-runs/{algo_run_a}/cancel/",
        ("401", "409", "404", "409"),  # already finished
        "POST",
        owner="404",
    ),
    Case("api/v1/tasks/<slug:slug>/leaderboard/", "/api/v1/tasks/{task}/leaderboard/", ALL_OK),
    Case(
        "api/v1/tasks/<slug:slug>/leaderboard/",
        "/api/v1/tasks/{task}/leaderboard/?split=private",
        ("403", "403", "403", OK),
        private=True,
    ),
    Case("api/v1/tracks/<slug:slug>/leaderboard/", "/api/v1/tracks/{track}/leaderboard/", ALL_OK),
    Case(
        "api/v1/challenges/<slug:slug>/standings/",
        "/api/v1/challenges/{challenge}/standings/",
        ALL_OK,
    ),
    Case(
        "api/v1/tasks/<slug:slug>/post-challenge/", "/api/v1/tasks/{task}/post-challenge/", ALL_OK
    ),
    Case(
        "api/v1/tasks/<slug:slug>/post-challenge/",
        "/api/v1/tasks/{task}/post-challenge/?split=private",
        ("403", "403", "403", OK),
        private=True,
    ),
    Case(
        "api/v1/tracks/<slug:slug>/leaderboard/",
        "/api/v1/tracks/{track}/leaderboard/?split=private",
        ("403", "403", "403", OK),
        private=True,
    ),
    # The transfer matrix with its decomposition and frontier: public like the track board,
    # the private rows (and every value fitted on them) only for organizers before the reveal.
    Case("api/v1/tracks/<slug:slug>/transfer/", "/api/v1/tracks/{track}/transfer/", ALL_OK),
    Case(
        "api/v1/tracks/<slug:slug>/transfer/",
        "/api/v1/tracks/{track}/transfer/?split=private",
        ("403", "403", "403", OK),
        private=True,
    ),
]

API += ACCOUNT_API

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
        "admin/(?P<app_label>auth|challenge_platform|socialaccount|knox|account|datasets"
        "|scoring|leaderboard|algorithms|standings|notifications)/$",
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
    "challenge_platform.challenge": lambda w: w.challenge.pk,
    "challenge_platform.track": lambda w: w.task.track.pk,
    "challenge_platform.team": lambda w: w.team_b.pk,
    "challenge_platform.workerheartbeat": lambda w: w.heartbeat.pk,
    "challenge_platform.rulesacceptance": lambda w: (
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
    "leaderboard.leaderboardentry": lambda w: (
        LeaderboardEntry.objects.filter(task=w.task, split="private").first().pk
    ),
    "standings.finalstandings": lambda w: _ended_challenge_standings(w).pk,
    "standings.methodwriteup": lambda w: _writeup(w).pk,
    "notifications.announcement": lambda w: _announcement(w).pk,
    "notifications.webhook": lambda w: _webhook(w).pk,
    "notifications.webhookdelivery": lambda w: _delivery(w).pk,
    "challenge_platform.auditevent": lambda w: _audit_event(w).pk,
    "challenge_platform.jobclaim": lambda w: _job_claim(w).pk,
}


def _job_claim(w: World):
    from django.utils import timezone

    from challenge_platform.models import JobClaim

    return JobClaim.objects.get_or_create(
        kind="scoring.tasks.score_submission",
        object_id=w.submission_b.pk,
        defaults={"token": "matrix", "holder": "matrix@host", "claimed_at": timezone.now()},
    )[0]


def _audit_event(w: World):
    from challenge_platform.audit import audit_record

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


# What the organizer gets where a model admin differs from the usual 200.
ADMIN_ORGANIZER: dict[str, str] = {
    "datasets.task add": REDIRECT,  # tasks only enter through the bundle import form
    "algorithms.baselinerun add": "403",  # runs are queued by the actions, never typed in
    "algorithms.algorithmrun add": "403",  # runs are queued by the API or the page
    "challenge_platform.rulesacceptance add": "403",  # only participants accept rules
    # Frozen standings are immutable; write-ups are the teams'; deliveries are a log.
    "standings.finalstandings add": "403",
    "standings.finalstandings delete": "403",
    "standings.methodwriteup add": "403",
    "notifications.webhookdelivery add": "403",
    # Derived rows and logs are read-only for everyone (issue 17: ReadOnlyAdminMixin).
    "notifications.webhookdelivery delete": "403",
    "leaderboard.leaderboardentry add": "403",
    "leaderboard.leaderboardentry delete": "403",
    "challenge_platform.workerheartbeat add": "403",
    "challenge_platform.workerheartbeat delete": "403",
    "challenge_platform.jobclaim add": "403",
    "challenge_platform.jobclaim delete": "403",
    "challenge_platform.rulesacceptance delete": "403",
    "challenge_platform.auditevent add": "403",
    "challenge_platform.auditevent delete": "403",
    "scoring.submission add": "403",
    "scoring.submission delete": "403",
    "algorithms.baselinerun delete": "403",
    "algorithms.algorithmrun delete": "403",
    # API tokens are listed by prefix and revoked by an audited action (issue 25).
    "knox.authtoken add": "403",
    "knox.authtoken delete": "403",
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


MATRIX = SITE + API + ADMIN + admin_model_cases()


# --- the URL conf ------------------------------------------------------------------------


def walk(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    """Every URL pattern's route, joined the way ``ResolverMatch.route`` joins it."""
    for pattern in resolver.url_patterns:
        route = (
            URLResolver._join_route(prefix, str(pattern.pattern))
            if prefix
            else str(pattern.pattern)
        )
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


def fill(case: Case, world: World) -> str:
    params = dict(world.params)
    params["challenge_ct"] = ContentType.objects.get_for_model(Challenge).pk
    params["challenge_pk"] = world.challenge.pk
    path = case.path
    for label, pick in ADMIN_OBJECTS.items():
        token = "{obj:" + label + "}"
        if token in path:
            path = path.replace(token, str(pick(world)))
    return path.format(**params)


# --- requests ----------------------------------------------------------------------------


@dataclass
class Result:
    case: Case
    role: str
    path: str
    status: int
    location: str
    body: bytes


def request(client: Client, world: World, case: Case, role: str) -> Result:
    """One request inside a savepoint that is rolled back, so cases don't affect each other."""
    path = fill(case, world)
    headers = {}
    if path.startswith("/api/") and role != "anon":
        headers["HTTP_AUTHORIZATION"] = f"Token {world.tokens[role]}"
    with transaction.atomic():
        data = case.data(world) if case.data else None
        if case.method == "GET":
            response = client.get(path, **headers)
        else:
            response = client.post(path, data or {}, **headers)
        body = read_body(response)
        transaction.set_rollback(True)
    return Result(case, role, path, response.status_code, response.get("Location", ""), body)


def read_body(response: HttpResponse) -> bytes:
    """The whole body; the test client closes the response once a stream is consumed."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def matches(expect: str, result: Result) -> bool:
    code = result.status
    to_login = code == 302 and result.location.startswith(("/accounts/login/", "/admin/login/"))
    if expect == OK:
        return 200 <= code < 300
    if expect == LOGIN:
        return to_login
    if expect == REDIRECT:
        return 300 <= code < 400 and not to_login
    return code == int(expect)


NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:[eE]-?\d+)?(?![\w.])")


def leaks(result: Result, world: World, *, revealed: bool) -> list[str]:
    """What a non-organizer's response shows that it must not."""
    if result.role == "org":
        return []
    body = result.body
    text = body.decode("utf-8", errors="replace")
    found = []
    if world.solution_bytes in body:
        found.append("the solution file")
    if body.startswith(b"PAR1"):
        names = pq.read_schema(io.BytesIO(body)).names
        if "split" in names or ("label" in names and result.path.count("test")):
            found.append(f"a parquet file with columns {names}")
    lines = world.solution_lines
    for sep in ("\n", "\r\n"):
        if any(sep.join(lines[i : i + 3]) in text for i in range(0, len(lines) - 2, 3)):
            found.append("solution id,label lines")
    for sep in (",", ", ", "\n", '", "'):
        if sep.join(world.private_ids) in text:
            found.append("the list of private ids (the split)")
    others = {"anon": ("a", "b"), "a": ("b",), "b": ("a",), "owner": ("a", "b")}[result.role]
    for team in others:
        if world.notes[team] in text:
            found.append(f"team {team}'s note")
        own_rows = world.files[team].split(b"\n", 1)[1]
        if own_rows[:200] in body:
            found.append(f"team {team}'s submission file")
    if not revealed:
        numbers = set(NUMBER.findall(text))
        for value in sorted(world.private_values()):
            hits = [form for form in value_forms(value) if form in numbers]
            if hits:
                found.append(f"private/all score {value} as {hits[0]!r}")
    return found


def run_matrix(world: World, role: str, *, revealed: bool) -> tuple[list[str], list[Result]]:
    failures: list[str] = []
    results = []
    for case in MATRIX:
        expect = case.expected(role, revealed=revealed)
        client = client_for(world, role)
        result = request(client, world, case, role)
        results.append(result)
        if not matches(expect, result):
            failures.append(
                f"{case.method} {result.path} as {role}: expected {expect}, got {result.status}"
                + (f" -> {result.location}" if result.location else "")
            )
        for leak in leaks(result, world, revealed=revealed):
            failures.append(f"{case.method} {result.path} as {role} shows {leak}")
    return failures, results


# --- tests ---------------------------------------------------------------------------------


def test_every_url_pattern_has_an_expectation():
    routes = set(walk(get_resolver()))
    covered = {case.route for case in MATRIX}
    missing = sorted(routes - covered)
    stale = sorted(covered - routes)
    assert not missing, f"URL patterns without a row in the authorization matrix: {missing}"
    assert not stale, f"matrix rows for URL patterns that no longer exist: {stale}"
    unknown = {m._meta.label_lower for m in admin.site._registry} - set(ADMIN_OBJECTS)
    assert not unknown, f"admin models without an object in ADMIN_OBJECTS: {unknown}"


def test_every_case_path_resolves_to_its_route(world):
    wrong = []
    for case in MATRIX:
        path = fill(case, world).split("?")[0]
        match = resolve(path)
        if match.route != case.route:
            wrong.append(f"{path} resolves to {match.route!r}, not {case.route!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_before_the_reveal(world, role):
    failures, _ = run_matrix(world, role, revealed=False)
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


def test_the_leak_check_finds_private_scores_in_what_organizers_see(world):
    """The body checks are not vacuous: the organizer's private board holds those values."""
    result = request(
        client_for(world, "org"),
        world,
        Case("", "/api/v1/tasks/{task}/leaderboard/?split=private", ALL_OK),
        "org",
    )
    as_participant = Result(result.case, "a", result.path, result.status, "", result.body)
    assert any("private/all score" in leak for leak in leaks(as_participant, world, revealed=False))
    solution = request(
        client_for(world, "org"),
        world,
        Case("", "/tasks/{task}/files/solution.parquet", ALL_OK),
        "org",
    )
    as_participant = Result(solution.case, "b", solution.path, 200, "", solution.body)
    assert "the solution file" in leaks(as_participant, world, revealed=False)


def test_after_the_reveal_private_scores_appear_for_everyone(world):
    Challenge.objects.filter(pk=world.challenge.pk).update(private_revealed=True)
    private = sorted(world.private_values())
    assert private

    def shows_private(role: str, path: str) -> bool:
        result = request(client_for(world, role), world, Case("", path, ALL_OK), role)
        assert result.status == 200, (role, path, result.status)
        numbers = set(NUMBER.findall(result.body.decode()))
        return any(form in numbers for value in private for form in value_forms(value))

    for role in ("anon", "a", "b"):
        assert shows_private(role, "/api/v1/tasks/{task}/leaderboard/?split=private")
        assert shows_private(role, "/tasks/{task}/leaderboard/?split=private")
        assert shows_private(role, "/tasks/{task}/leaderboard.csv?split=private")
    assert shows_private("a", "/api/v1/submissions/{sub_a}/")
    assert shows_private("a", "/submissions/{sub_a}/")
    assert shows_private("b", "/api/v1/submissions/")
    # Still nothing of the other team, and never the solution.
    for role in ROLES[:3]:
        failures, _ = run_matrix(world, role, revealed=True)
        assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)
