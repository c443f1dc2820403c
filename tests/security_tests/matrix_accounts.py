"""Authorization-matrix rows of issue 12: the rules page and API, allauth's pages (sign-up,
confirmation, password reset, OpenID Connect), and the task-owner role's page and API."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security_tests.matrix_case import ALL_OK, LOGIN, OK, REDIRECT, Case

ACCOUNT_SITE: list[Case] = [
    Case("c/<slug:slug>/rules/", "/c/{challenge}/rules/", ALL_OK),
    # The world's challenge has no rules: accepting is refused with a message, sent back.
    Case(
        "c/<slug:slug>/rules/",
        "/c/{challenge}/rules/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
        lambda w: {"version": "1", "next": "https://evil.example/"},
    ),
    # allauth: sign-up and recovery pages; the logged-in are sent on.
    Case("accounts/signup/", "/accounts/signup/", (OK, REDIRECT, REDIRECT, REDIRECT)),
    Case(
        "accounts/signup/",
        "/accounts/signup/",
        (OK, REDIRECT, REDIRECT, REDIRECT),  # an incomplete form is shown again
        "POST",
        lambda w: {"username": "matrix-new", "email": "not-an-address"},
    ),
    Case("accounts/inactive/", "/accounts/inactive/", ALL_OK),
    Case("accounts/confirm-email/", "/accounts/confirm-email/", ALL_OK),
    Case(
        "accounts/confirm-email/(?P<key>[-:\\w]+)/$",
        "/accounts/confirm-email/MQ:forged-key/",
        ALL_OK,  # "This link expired or is invalid"
    ),
    Case(
        "accounts/confirm-email/(?P<key>[-:\\w]+)/$",
        "/accounts/confirm-email/MQ:forged-key/",
        ("404",) * 4,
        "POST",
    ),
    Case("accounts/password/reset/", "/accounts/password/reset/", ALL_OK),
    Case("accounts/password/reset/done/", "/accounts/password/reset/done/", ALL_OK),
    Case(
        "accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "/accounts/password/reset/key/1-forged-key/",
        ALL_OK,  # "The password reset link was invalid"
    ),
    Case("accounts/password/reset/key/done/", "/accounts/password/reset/key/done/", ALL_OK),
    Case("accounts/social/login/cancelled/", "/accounts/social/login/cancelled/", ALL_OK),
    Case("accounts/social/login/error/", "/accounts/social/login/error/", ("401",) * 4),
    # Without a pending sign-in from the identity provider there is nothing to complete.
    Case("accounts/social/signup/", "/accounts/social/signup/", (LOGIN,) * 4),
    # No identity provider is configured in the tests: its pages do not exist.
    Case(
        "accounts/oidc/(?P<provider_id>[^/]+)/login/",
        "/accounts/oidc/org/login/",
        ("404",) * 4,
        "POST",
    ),
    Case(
        "accounts/oidc/(?P<provider_id>[^/]+)/login/callback/",
        "/accounts/oidc/org/login/callback/?code=x&state=y",
        ("404",) * 4,
    ),
    # The task owner's page: its own task only; to anyone else the page does not exist.
    Case(
        "tasks/<slug:slug>/manage/",
        "/tasks/{owned_task}/manage/",
        (LOGIN, "404", "404", OK),
        owner=OK,
    ),
    Case("tasks/<slug:slug>/manage/", "/tasks/{task}/manage/", (LOGIN, "404", "404", OK)),
    # References (issue 13): organizers everywhere, the task owner on its own task only.
    Case(
        "tasks/<slug:slug>/manage/references/",
        "/tasks/{owned_task}/manage/references/",
        (LOGIN, "404", "404", REDIRECT),
        "POST",
        lambda w: {"action": "primary", "reference": ""},
        owner=REDIRECT,
    ),
    Case(
        "tasks/<slug:slug>/manage/",
        "/tasks/{owned_task}/manage/",
        (LOGIN, "404", "404", REDIRECT),
        "POST",
        owner=REDIRECT,
    ),
    # A new data version: the task's owners and organizers; anyone else is refused (403).
    Case(
        "tasks/<slug:slug>/manage/data/",
        "/tasks/{owned_task}/manage/data/",
        (LOGIN, "403", "403", OK),
        owner=OK,
    ),
    Case("tasks/<slug:slug>/manage/data/", "/tasks/{task}/manage/data/", (LOGIN, "403", "403", OK)),
    # An upload: stored, its check queued (issue 51), and the uploader sent to its page.
    Case(
        "tasks/<slug:slug>/manage/data/",
        "/tasks/{owned_task}/manage/data/",
        (LOGIN, "403", "403", REDIRECT),
        "POST",
        lambda w: {"bundle": SimpleUploadedFile("b.zip", b"not a zip"), "reason": "matrix"},
        owner=REDIRECT,
    ),
    # An upload's page: its task's managers (no such upload here: 404 for them too).
    Case(
        "tasks/<slug:slug>/manage/data/uploads/<int:pk>/",
        "/tasks/{owned_task}/manage/data/uploads/0/",
        (LOGIN, "404", "404", "404"),
        owner="404",
    ),
]

ACCOUNT_API: list[Case] = [
    Case("api/v1/challenges/<slug:slug>/rules/", "/api/v1/challenges/{challenge}/rules/", ALL_OK),
    Case(
        "api/v1/challenges/<slug:slug>/rules/accept/",
        "/api/v1/challenges/{challenge}/rules/accept/",
        ("401", "400", "400", "400"),  # no rules to accept in the world's challenge
        "POST",
        lambda w: {"version": 1},
    ),
    # The task-owner role: its own task only; organizers every task.
    Case(
        "api/v1/tasks/<slug:slug>/baselines/",
        "/api/v1/tasks/{owned_task}/baselines/",
        ("401", "403", "403", "202"),
        "POST",
        owner="202",
    ),
    Case(
        "api/v1/tasks/<slug:slug>/baselines/",
        "/api/v1/tasks/{task}/baselines/",
        ("401", "403", "403", "202"),
        "POST",
    ),
    Case(
        "api/v1/tasks/<slug:slug>/references/",
        "/api/v1/tasks/{owned_task}/references/",
        ("401", "403", "403", OK),
        owner=OK,
    ),
    Case(
        "api/v1/tasks/<slug:slug>/references/",
        "/api/v1/tasks/{task}/references/",
        ("401", "403", "403", "400"),
        "POST",
        lambda w: {"name": "matrix", "file": SimpleUploadedFile("r.csv", b"id,label\nnope,a\n")},
    ),
    Case(
        "api/v1/tasks/<slug:slug>/references/primary/",
        "/api/v1/tasks/{owned_task}/references/primary/",
        ("401", "403", "403", "400"),
        "POST",
        lambda w: {"reference": "no such reference"},
        owner="403",  # issue 25: after the start the primary is the organizers' choice
    ),
    Case(
        "api/v1/tasks/<slug:slug>/references/<int:pk>/",
        "/api/v1/tasks/{task}/references/0/",
        ("401", "405", "405", "405"),
    ),
    # Issue 42: the versions are listed to anyone (who uploaded each, to managers only).
    Case("api/v1/tasks/<slug:slug>/versions/", "/api/v1/tasks/{owned_task}/versions/", ALL_OK),
    Case(
        "api/v1/tasks/<slug:slug>/versions/",
        "/api/v1/tasks/{task}/versions/",
        ("401", "403", "403", "202"),  # stored, its check queued (issue 51)
        "POST",
        lambda w: {"file": SimpleUploadedFile("b.zip", b"not a zip"), "reason": "matrix"},
    ),
    Case(
        "api/v1/tasks/<slug:slug>/versions/uploads/<int:pk>/",
        "/api/v1/tasks/{owned_task}/versions/uploads/0/",
        ("401", "403", "403", "404"),
        owner="404",
    ),
    Case(
        "api/v1/tasks/<slug:slug>/versions/",
        "/api/v1/tasks/{owned_task}/versions/",
        ("401", "403", "403", "400"),
        "POST",
        lambda w: {"file": SimpleUploadedFile("b.zip", b"not a zip"), "reason": ""},
        owner="400",
    ),
    Case(
        "api/v1/tasks/<slug:slug>/all-submissions/",
        "/api/v1/tasks/{task}/all-submissions/",
        ("401", "403", "403", OK),
    ),
    # Before the reveal even the owner waits (test_task_owner_sees_its_submissions_after_...).
    Case(
        "api/v1/tasks/<slug:slug>/all-submissions/",
        "/api/v1/tasks/{owned_task}/all-submissions/",
        ("401", "403", "403", OK),
    ),
]
