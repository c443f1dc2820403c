"""Authorization-matrix rows for the discussion (its pages and its API): reading is public,
writing needs a login, a post is its author's to edit and delete, its thread's author's or an
organizer's to mark as the answer, and moderation is the organizers'. The thread and post are
team A's (``{obj:discussion.thread}``, ``{obj:discussion.post}``: matrix_admin's objects)."""

from __future__ import annotations

from tests.security_tests.matrix_case import ALL_OK, LOGIN, OK, REDIRECT, Case

THREAD = "{obj:discussion.thread}"
POST = "{obj:discussion.post}"


def _new(world) -> dict:
    return {"title": "Matrix question", "body": "What is *this*?"}


def _body(world) -> dict:
    return {"body": "A matrix reply."}


def _reason(world) -> dict:
    return {"reason": "matrix", "value": "on"}


def _api_reason(world) -> dict:
    return {"reason": "matrix"}


DISCUSSION: list[Case] = [
    # The pages.
    Case("c/<slug:slug>/threads/", "/c/{challenge}/threads/", ALL_OK),
    Case("c/<slug:slug>/threads/", "/c/{challenge}/threads/?q=x&task={task}", ALL_OK),
    Case(
        "c/<slug:slug>/threads/",
        "/c/{challenge}/threads/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
        _new,
    ),
    Case("threads/<int:pk>/", f"/threads/{THREAD}/", ALL_OK),
    Case(
        "threads/<int:pk>/reply/",
        f"/threads/{THREAD}/reply/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
        _body,
    ),
    Case("threads/<int:pk>/reply/", f"/threads/{THREAD}/reply/", (LOGIN, "405", "405", "405")),
    Case(
        "threads/<int:pk>/follow/",
        f"/threads/{THREAD}/follow/",
        (LOGIN, REDIRECT, REDIRECT, REDIRECT),
        "POST",
    ),
    Case(
        "threads/<int:pk>/lock/",
        f"/threads/{THREAD}/lock/",
        (LOGIN, "403", "403", REDIRECT),
        "POST",
        _reason,
    ),
    Case(
        "threads/<int:pk>/pin/",
        f"/threads/{THREAD}/pin/",
        (LOGIN, "403", "403", REDIRECT),
        "POST",
        _reason,
    ),
    Case("posts/<int:pk>/edit/", f"/posts/{POST}/edit/", (LOGIN, OK, "403", "403"), owner="403"),
    Case(
        "posts/<int:pk>/delete/",
        f"/posts/{POST}/delete/",
        (LOGIN, REDIRECT, "403", "403"),
        "POST",
        owner="403",
    ),
    Case(
        "posts/<int:pk>/answer/",
        f"/posts/{POST}/answer/",
        (LOGIN, REDIRECT, "403", REDIRECT),
        "POST",
        owner="403",
    ),
    Case(
        "posts/<int:pk>/hide/",
        f"/posts/{POST}/hide/",
        (LOGIN, "403", "403", REDIRECT),
        "POST",
        _reason,
    ),
    # The API.
    Case(
        "api/v1/challenges/<slug:slug>/threads/", "/api/v1/challenges/{challenge}/threads/", ALL_OK
    ),
    Case(
        "api/v1/challenges/<slug:slug>/threads/",
        "/api/v1/challenges/{challenge}/threads/",
        ("401", "201", "201", "201"),
        "POST",
        _new,
    ),
    Case("api/v1/threads/<int:pk>/", f"/api/v1/threads/{THREAD}/", ALL_OK),
    Case(
        "api/v1/threads/<int:pk>/posts/",
        f"/api/v1/threads/{THREAD}/posts/",
        ("401", "201", "201", "201"),
        "POST",
        _body,
    ),
    Case(
        "api/v1/threads/<int:pk>/lock/",
        f"/api/v1/threads/{THREAD}/lock/",
        ("401", "403", "403", OK),
        "POST",
        _api_reason,
    ),
    Case(
        "api/v1/threads/<int:pk>/pin/",
        f"/api/v1/threads/{THREAD}/pin/",
        ("401", "403", "403", OK),
        "POST",
        _api_reason,
    ),
    Case(
        "api/v1/threads/<int:pk>/follow/",
        f"/api/v1/threads/{THREAD}/follow/",
        ("401", OK, OK, OK),
        "POST",
    ),
    Case("api/v1/posts/<int:pk>/", f"/api/v1/posts/{POST}/", ("401", "405", "405", "405")),
    Case(
        "api/v1/posts/<int:pk>/delete/",
        f"/api/v1/posts/{POST}/delete/",
        ("401", OK, "403", "403"),
        "POST",
        owner="403",
    ),
    Case(
        "api/v1/posts/<int:pk>/answer/",
        f"/api/v1/posts/{POST}/answer/",
        ("401", OK, "403", OK),
        "POST",
        owner="403",
    ),
    Case(
        "api/v1/posts/<int:pk>/hide/",
        f"/api/v1/posts/{POST}/hide/",
        ("401", "403", "403", OK),
        "POST",
        _api_reason,
    ),
]
