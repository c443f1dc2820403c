"""The one rule of ``?split=`` (challenges/split_access.py): its decisions for every
kind of reader before and after the reveal, and the same refusal from every API operation
and page that takes ``split``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from challenges.split_access import (
    PRIVATE_HIDDEN,
    UNKNOWN_SPLIT,
    ReaderSplit,
    reader_split,
)
from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TrackFactory,
    UserFactory,
    add_member,
    api_key,
)
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db

BAD_VALUES = ["", "all", "PRIVATE", "Public", "public ", "private\x00", "1", "null"]
REVEALS = ["hidden", "scheduled later", "revealed by action", "reveal time passed"]


def _challenge(reveal: str):
    now = timezone.now()
    challenge = ChallengeFactory(slug="split-rule", end=now + timedelta(days=3))
    if reveal == "scheduled later":
        challenge.reveal_at = now + timedelta(days=4)
    elif reveal == "revealed by action":
        challenge.private_revealed = True
    elif reveal == "reveal time passed":
        challenge.reveal_at = now - timedelta(minutes=1)
    challenge.save()
    return challenge


def _reader(kind: str, challenge):
    if kind == "anonymous":
        return AnonymousUser()
    if kind == "organizer":
        return UserFactory(username="organizer", is_staff=True)
    participant = UserFactory(username="participant")
    add_member(make_team(challenge, "Owls"), participant)
    return participant


@pytest.mark.parametrize("reveal", REVEALS)
@pytest.mark.parametrize("kind", ["anonymous", "participant", "organizer"])
def test_who_sees_which_split_before_and_after_the_reveal(kind, reveal):
    challenge = _challenge(reveal)
    user = _reader(kind, challenge)
    revealed = reveal in ("revealed by action", "reveal time passed")
    sees_private = kind == "organizer" or revealed

    def decide(asked):
        return reader_split(asked=asked, challenge=challenge, user=user)

    assert decide(None) == ReaderSplit("public", sees_private)  # no ?split=: the public one
    assert decide("public") == ReaderSplit("public", sees_private)
    if sees_private:
        assert decide("private") == ReaderSplit("private", True)
    else:
        assert decide("private") == ReaderSplit(None, False, PRIVATE_HIDDEN)
    for bad in BAD_VALUES:  # refused as unknown whoever asks, never taken for a split
        assert decide(bad) == ReaderSplit(None, sees_private, UNKNOWN_SPLIT), repr(bad)


def test_the_refusals_say_what_to_ask_for():
    assert (UNKNOWN_SPLIT.status, UNKNOWN_SPLIT.code, UNKNOWN_SPLIT.message) == (
        400,
        "unknown_split",
        "split must be 'public' or 'private'.",
    )
    assert (PRIVATE_HIDDEN.status, PRIVATE_HIDDEN.code, PRIVATE_HIDDEN.message) == (
        403,
        "private_not_revealed",
        "The private leaderboard is hidden until the organizers reveal it.",
    )


# --- every API operation and page that takes ?split= refuses the same way ----------------

API_OPERATIONS = {
    "/api/v1/tasks/{slug}/leaderboard/": "task",
    "/api/v1/tracks/{slug}/leaderboard/": "track",
    "/api/v1/tracks/{slug}/transfer/": "track",
    "/api/v1/tasks/{slug}/post-challenge/": "task",
}
PAGES = {
    "/tasks/{slug}/leaderboard/": "task",
    "/tasks/{slug}/leaderboard.csv": "task",
    "/tracks/{slug}/": "track",
    "/tracks/{slug}/leaderboard.csv": "track",
    "/tracks/{slug}/transfer/": "track",
    "/tasks/{slug}/post-challenge/": "task",
}


@pytest.fixture
def board():
    """A task of a track whose private split is not revealed, with two ranked teams."""
    challenge = ChallengeFactory(slug="split-world")
    track = TrackFactory(challenge=challenge, slug="split-track")
    task = make_task(track, slug="split-task")
    scored(task, make_team(challenge, "Owls"), 0.9, 0.6, minutes=1)
    scored(task, make_team(challenge, "Hawks"), 0.7, 0.8, minutes=2)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return {"challenge": challenge, "task": task.slug, "track": track.slug}


def _url(template: str, scope: str, board: dict, query: str) -> str:
    return template.format(slug=board[scope]) + query


def test_the_list_of_api_operations_taking_split_is_the_schemas():
    """Every operation whose schema documents ``split`` is checked below: a new one with its
    own parser would otherwise go untested."""
    schema = json.loads(Client().get("/api/v1/schema/", {"format": "json"}).content)
    taking_split = set()
    for path, methods in schema["paths"].items():
        for operation in methods.values():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "split" in names:
                taking_split.add(path)
                documented = operation["parameters"][
                    [p["name"] for p in operation["parameters"]].index("split")
                ]
                assert sorted(documented["schema"]["enum"]) == ["private", "public"], path
                assert {"400", "403"} <= set(operation["responses"]), path
    assert taking_split == set(API_OPERATIONS)


@pytest.mark.parametrize("template", API_OPERATIONS)
def test_every_api_operation_refuses_a_split_the_same_way(template, board):
    scope = API_OPERATIONS[template]
    participant = UserFactory(username="member")
    add_member(make_team(board["challenge"], "Members"), participant)
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {api_key(participant)}")
    organizer = APIClient()
    organizer.force_authenticate(UserFactory(username="boss", is_staff=True))

    for bad in ("bogus", "", "ALL"):
        for client in (APIClient(), with_token, organizer):
            answer = client.get(_url(template, scope, board, f"?split={bad}"))
            assert answer.status_code == 400, bad
            assert answer.json() == {"detail": UNKNOWN_SPLIT.message, "code": "unknown_split"}
    for client in (APIClient(), with_token):
        answer = client.get(_url(template, scope, board, "?split=private"))
        assert answer.status_code == 403
        assert answer.json() == {"detail": PRIVATE_HIDDEN.message, "code": "private_not_revealed"}

    assert APIClient().get(_url(template, scope, board, "")).json()["split"] == "public"
    shown = organizer.get(_url(template, scope, board, "?split=private"))
    assert (shown.status_code, shown.json()["split"]) == (200, "private")

    board["challenge"].private_revealed = True
    board["challenge"].save()
    for client in (APIClient(), with_token):
        shown = client.get(_url(template, scope, board, "?split=private"))
        assert (shown.status_code, shown.json()["split"]) == (200, "private")


@pytest.mark.parametrize("template", PAGES)
def test_every_page_hides_a_split_it_cannot_show(template, board):
    """A page answers 404 (it hides what it cannot show) where the API answers 400 or 403."""
    scope = PAGES[template]
    organizer = Client()
    organizer.force_login(UserFactory(username="boss", is_staff=True))
    for bad in ("bogus", ""):
        assert Client().get(_url(template, scope, board, f"?split={bad}")).status_code == 404
        assert organizer.get(_url(template, scope, board, f"?split={bad}")).status_code == 404
    assert Client().get(_url(template, scope, board, "?split=private")).status_code == 404
    assert Client().get(_url(template, scope, board, "")).status_code == 200
    assert organizer.get(_url(template, scope, board, "?split=private")).status_code == 200
    board["challenge"].private_revealed = True
    board["challenge"].save()
    assert Client().get(_url(template, scope, board, "?split=private")).status_code == 200


@pytest.mark.parametrize(
    ("template", "noun"),
    [
        ("/tasks/{slug}/leaderboard/", "board"),
        ("/tracks/{slug}/", "standings"),
        ("/tracks/{slug}/transfer/", "rows"),
        ("/tasks/{slug}/post-challenge/", "split"),
    ],
)
def test_each_board_page_draws_the_toggle_for_whom_may_see_the_private_split(
    template, noun, board
):
    scope = "task" if "/tasks/" in template else "track"
    anonymous = Client().get(_url(template, scope, board, "")).content.decode()
    assert 'id="split-toggle"' not in anonymous and "?split=private" not in anonymous
    hidden = "Private rows are hidden until the organizers reveal them."
    assert (hidden in anonymous) == (noun == "rows")  # the transfer matrix says why

    organizer = Client()
    organizer.force_login(UserFactory(username="boss", is_staff=True))
    public = organizer.get(_url(template, scope, board, "")).content.decode()
    assert (
        f'<a href="?split=private" id="split-toggle" data-split="private">'
        f"Show the private {noun}</a>"
    ) in public
    private = organizer.get(_url(template, scope, board, "?split=private")).content.decode()
    assert f'data-split="public">Show the public {noun}</a>' in private
