"""Authorization-matrix rows for the REST API (``/api/v1/``): every endpoint, each role's
status class; the accounts' and task owner's endpoints come from matrix_accounts."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security_tests.matrix_accounts import ACCOUNT_API
from tests.security_tests.matrix_case import (
    ALL_OK,
    API_LOGGED_IN,
    OK,
    Case,
    bad_login,
    upload,
)
from tests.security_tests.world import algorithm_archive

API: list[Case] = [
    Case("api/v1/", "/api/v1/", ALL_OK),
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
    # Issue 62: the phases, public to read; organizers add and change them (with a reason)
    Case("api/v1/challenges/<slug:slug>/phases/", "/api/v1/challenges/{challenge}/phases/", ALL_OK),
    Case(
        "api/v1/challenges/<slug:slug>/phases/",
        "/api/v1/challenges/{challenge}/phases/",
        ("401", "403", "403", "400"),  # the organizer's empty body: a reason is required
        "POST",
    ),
    Case(
        "api/v1/phases/<int:pk>/",
        "/api/v1/phases/{obj:challenges.phase}/",
        ("401", "403", "403", OK),
        "PATCH",
        lambda w: {"title": "Matrix phase", "reason": "the authorization matrix"},
    ),
    Case(
        "api/v1/phases/<int:pk>/",
        "/api/v1/phases/{obj:challenges.phase}/",
        ("401", "403", "403", "405"),
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
    # Issue 42: a data version's files by number, the solution never (not even organizers')
    Case(
        "api/v1/tasks/<slug:slug>/files/<str:name>",
        "/api/v1/tasks/{task}/files/train.csv?version=1",
        API_LOGGED_IN,
    ),
    Case(
        "api/v1/tasks/<slug:slug>/files/<str:name>",
        "/api/v1/tasks/{task}/files/solution.parquet?version=1",
        ("401", "404", "404", OK),  # the current version's solution: organizers, as above
    ),
    Case("api/v1/tasks/<slug:slug>/croissant.json", "/api/v1/tasks/{task}/croissant.json", ALL_OK),
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
    # The champion gate (docs/organizers/champion-gate.md): the champion and its timeline are public
    # like the board; a release check needs a login (a file weighed, nothing stored).
    Case("api/v1/tasks/<slug:slug>/champion/", "/api/v1/tasks/{task}/champion/", ALL_OK),
    Case(
        "api/v1/tasks/<slug:slug>/release-check/",
        "/api/v1/tasks/{task}/release-check/",
        API_LOGGED_IN,
        "POST",
        upload,
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
    # Issue 42: the results as data. Open to all; their private rows only for organizers
    # before the reveal (the body check finds any private value in the CSV).
    Case("api/v1/tracks/<slug:slug>/results.csv", "/api/v1/tracks/{track}/results.csv", ALL_OK),
    Case(
        "api/v1/tracks/<slug:slug>/results.csv",
        "/api/v1/tracks/{track}/results.csv?split=private",
        ALL_OK,
    ),
    Case(
        "api/v1/tracks/<slug:slug>/results.parquet",
        "/api/v1/tracks/{track}/results.parquet",
        ALL_OK,
    ),
    Case(
        "api/v1/tracks/<slug:slug>/results/croissant.json",
        "/api/v1/tracks/{track}/results/croissant.json",
        ALL_OK,
    ),
]

API += ACCOUNT_API
