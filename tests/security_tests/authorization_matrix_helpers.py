"""Helpers of test_authorization_matrix.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from challenges.models import Challenge
from tests.security_tests.matrix_accounts import ACCOUNT_SITE
from tests.security_tests.matrix_admin import ADMIN, ADMIN_OBJECTS, admin_model_cases
from tests.security_tests.matrix_api import API
from tests.security_tests.matrix_case import (
    ALL_OK,
    LOGGED_IN,
    LOGIN,
    OK,
    ORG_ONLY,
    REDIRECT,
    Case,
    bad_login,
    upload,
)
from tests.security_tests.matrix_discussion import DISCUSSION
from tests.security_tests.world import World

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


# Accounts, rules and task owners' pages (matrix_accounts) are the site's too.
MATRIX = SITE + ACCOUNT_SITE + API + DISCUSSION + ADMIN + admin_model_cases()


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
