"""The boards' fast path in front of Django (leaderboard/cache/fastpath.py): the site's real WSGI
application (``challenge_platform.wsgi.application``, what gunicorn serves) called with WSGI
environs, on the session's real Redis.

Whether Django handled a request is seen from its ``request_started`` signal, sent by
Django's handler for every request it gets: the wrapper answers without it.
"""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve
from rest_framework.test import APIClient

from challenges.services import challenge_reveal
from leaderboard.cache import board_cache, connection, fastpath

from .boards import FAST, refresh, shown, signed_in_viewers
from .factories import scored
from .fastpath_helpers import Answer, call, environ_for, wsgi

pytestmark = pytest.mark.django_db

# The headers Django's middleware puts on every page (SecurityMiddleware, the CSP and
# X-Frame-Options middleware): a board from the fast path carries them as well.
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
)










def nonce_of(answer: Answer) -> str:
    return re.search(r"'nonce-([^']+)'", answer["Content-Security-Policy"]).group(1)


def test_a_stored_board_is_answered_before_django_with_every_security_header(
    board, django_assert_num_queries
):
    for name, path in FAST.items():
        made = wsgi(path)  # rendered by Django and stored
        assert made.django and made.status == 200 and b"0.61" in made.body, name
        with django_assert_num_queries(0):
            again, other = wsgi(path), wsgi(path)
        assert not again.django and again.status == 200, name
        assert again.body == made.body and again["Content-Length"] == str(len(made.body))
        for header in ("Content-Type", "Vary", "ETag", "Cache-Control", *SECURITY_HEADERS):
            assert again[header] == made[header], (name, header)
        # The same policy as Django's, with a nonce of its own on every answer.
        policy = again["Content-Security-Policy"]
        assert policy.replace(nonce_of(again), "N") == made["Content-Security-Policy"].replace(
            nonce_of(made), "N"
        )
        assert len({nonce_of(made), nonce_of(again), nonce_of(other)}) == 3, name
        assert "frame-ancestors 'none'" in policy and "set-cookie" not in again.headers


def test_a_cookie_credentials_or_another_method_go_through_django(board):
    for path in FAST.values():
        wsgi(path)
        assert not wsgi(path).django
        for headers in (
            {"Cookie": "x=1"},  # any cookie, even one nobody set
            {"Cookie": "sessionid=forged"},
            {"Authorization": "Token not-a-key"},
            {"Authorization": "Basic Zm9vOmJhcg=="},
        ):
            answer = wsgi(path, **headers)
            assert answer.django and "etag" not in answer.headers, (path, headers)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            assert wsgi(path, method=method).django, (path, method)


def test_a_participant_never_gets_the_anonymous_board_nor_an_anonymous_reader_theirs(
    setup, django_capture_on_commit_callbacks
):
    """Signed-in readers (a session cookie, a token) get their own page and the private split
    they may see; the anonymous answers, before and after them, never hold anything of theirs,
    and the sealed standings stay sealed until the reveal, when the page changes at once."""
    organizer, pat, participant = signed_in_viewers(setup, django_capture_on_commit_callbacks)
    challenge = setup[0]
    page = "/tasks/t1/leaderboard/"
    shown(page, participant)
    shown(page, organizer)
    shown(page + "?split=private", organizer)
    for _ in range(2):
        anonymous = wsgi(page)
        assert b"0.61" in anonymous.body and b"0.33" not in anonymous.body
        assert b"pat-the-participant" not in anonymous.body
        assert b"Shake-up report" not in anonymous.body and b"?split=private" not in anonymous.body
    assert not anonymous.django
    session = participant.cookies["sessionid"].value
    theirs = wsgi(page, Cookie=f"sessionid={session}")
    assert theirs.django and b"pat-the-participant" in theirs.body
    assert wsgi(page, query="split=private").status == 404
    api = "/api/v1/tasks/t1/leaderboard/"
    wsgi(api)
    assert wsgi(api, query="split=private").status == 403
    assert wsgi(api, query="split=private").django

    with django_capture_on_commit_callbacks(execute=True):
        challenge_reveal(challenge=challenge)
    assert b"?split=private" in wsgi(page).body  # the reveal shows at once, also here
    private = wsgi(api, query="split=private")
    assert private.status == 200 and b"0.33" in private.body


def test_head_and_if_none_match_from_the_fast_path(board, django_capture_on_commit_callbacks):
    challenge, track, task, teams = board
    for name, path in FAST.items():
        made = wsgi(path)
        head = wsgi(path, method="HEAD")
        assert not head.django and head.status == 200 and head.body == b"", name
        assert head["Content-Length"] == str(len(made.body)) and head["ETag"] == made["ETag"]
        for validator in (made["ETag"], f'"x", W/{made["ETag"]}', "*"):
            for method in ("GET", "HEAD"):
                same = wsgi(path, method=method, If_None_Match=validator)
                assert not same.django and same.status == 304 and same.body == b"", name
                assert same["ETag"] == made["ETag"] and "Cookie" in same["Vary"], name
                assert "content-type" not in same.headers and "content-length" not in same.headers
                for header in SECURITY_HEADERS:
                    assert same[header] == made[header], (name, header)
        for other in ('"not-this-one"', "garbage", '""'):
            assert wsgi(path, If_None_Match=other).status == 200, (name, other)
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    for name, path in FAST.items():
        old = wsgi(path)
        assert old.django and b"0.97" in old.body, name  # a change: rendered again
        assert wsgi(path, If_None_Match=made["ETag"]).status == 200


def test_a_stale_board_is_answered_only_within_its_grace(
    board, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """In a rush, an anonymous reader may get a board up to the grace after it changed; past
    the grace (and nobody rendering) Django renders the new one. (Past half the grace one
    read renders it ahead: the next test.)"""
    from .cache_helpers import FakeClock

    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    settings.BOARD_CACHE_GRACE_CHANGES = 1  # one change makes a rush here
    clock = FakeClock((int(connection.now() / 5) + 1) * 5 + 0.01)
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    for path in FAST.values():
        assert wsgi(path).django  # stored at this version
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    clock.sleep(2.4)  # within the first half of the grace: nobody renews yet
    for path in FAST.values():
        stale = wsgi(path)
        assert not stale.django and b"0.97" not in stale.body, path
    clock.sleep(2.7)  # past the grace
    for path in FAST.values():
        fresh = wsgi(path)
        assert fresh.django and b"0.97" in fresh.body, path


def test_past_half_its_grace_one_read_renews_the_board_while_the_others_get_the_last_one(
    board, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """In a rush, the first anonymous read of a board past half the grace takes its
    rendering lock and renders the new version in Django; every read while it renders gets
    the last board from the fast path (no wait for the render, no Django), even past the
    grace; once stored, the new board answers. A renewal given back unfinished (its
    request failed) lets the next read renew."""
    from .cache_helpers import FakeClock

    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    settings.BOARD_CACHE_GRACE_CHANGES = 1  # one change makes a rush here
    clock = FakeClock((int(connection.now() / 5) + 1) * 5 + 0.01)
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    for path in FAST.values():
        assert wsgi(path).django  # stored at this version
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    clock.sleep(2.6)  # past half the grace
    for name, path in FAST.items():
        renewer = environ_for(path)
        assert fastpath.answer(environ=renewer) is None, name  # this read is Django's: it renews
        for _ in range(2):
            during = wsgi(path)
            assert during.status == 200 and not during.django, name
            assert b"0.61" in during.body and b"0.97" not in during.body, name
        renewed = call(renewer)  # the render, holding the lock the fast path took
        assert renewed.django and b"0.97" in renewed.body, name
        after = wsgi(path)
        assert not after.django and b"0.97" in after.body, name  # stored, lock given back

    scored(task, teams["ann"], 0.99)
    refresh(task, django_capture_on_commit_callbacks)
    clock.sleep(6)  # past the grace: still the last board while one read renders
    for name, path in FAST.items():
        renewer = environ_for(path)
        assert fastpath.answer(environ=renewer) is None, name
        during = wsgi(path)
        assert not during.django and b"0.99" not in during.body, name
        fastpath.release(environ=renewer)  # its request failed before rendering anything
        again = wsgi(path)
        assert again.django and b"0.99" in again.body, name  # the next read renders


def test_odd_paths_and_query_strings_never_reach_another_requests_stored_board(board):
    page = "/tasks/t1/leaderboard/"
    wsgi(page)
    assert not wsgi(page).django
    for path, query in (
        (page, "x=1"),
        (page, "split=public"),  # the same board, but another request: its own key
        (page + "../leaderboard/", ""),
        ("/tasks/t1/../t1/leaderboard/", ""),
        ("/tasks/t1/leaderboard", ""),
        ("/tasks/t1/leaderboard//", ""),
        (page + "\n", ""),
        ("/tasks/t1/leaderboard/\n", "x=1"),
        ("/tasks/t1/leaderboard.csv", ""),
        ("/tasks/t2/leaderboard/", ""),
        (page + "%00", ""),
        (page, "split=%00"),
    ):
        first = wsgi(path, query=query)
        assert first.django, (path, query)  # never the stored board's key
    for host in ("evil.example", "testserver:81"):
        assert wsgi(page, Host=host).django, host  # its own key, whatever Django answers
    assert wsgi(page, Accept="application/json").django
    # The key's values are a JSON list: no two requests' values run into one another.
    assert fastpath.key(environ={"PATH_INFO": "/a\n", "QUERY_STRING": "b"}) != fastpath.key(
        environ={"PATH_INFO": "/a", "QUERY_STRING": "\nb"}
    )


def test_a_page_holding_its_requests_nonce_is_never_stored(board):
    """The policy's nonce is made per answer; a page that printed its request's nonce would
    carry it to every reader, so it is not kept."""
    request = RequestFactory().get("/tasks/t1/leaderboard/")
    request.resolver_match = resolve(request.path_info)
    request.csp_nonce = "n0nce-of-this-request"
    request.board_fast_note = board_cache.FastNote(board_cache.TASK, board[2].pk, 1, None)
    inline = HttpResponse(b'<script nonce="n0nce-of-this-request"></script>')
    assert not fastpath.store(request=request, response=inline)
    assert fastpath.store(request=request, response=HttpResponse(b"<p>a board</p>"))


def test_without_redis_every_read_goes_through_django(board, settings):
    for path in FAST.values():
        wsgi(path)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "KEY_PREFIX": "boards-test",
        }
    }
    for name, path in FAST.items():
        answer = wsgi(path)
        assert answer.django and answer.status == 200 and b"0.61" in answer.body, name
    assert APIClient().get(FAST["task api"]).status_code == 200


def test_a_reader_varying_the_query_cannot_fill_redis_with_copies_of_a_board(board):
    """Each query string is its own stored response: past MAX_VARIANTS per board within the
    stored responses' lifetime, new variants are answered by Django and not stored, while
    those already stored keep being answered before Django."""
    page = "/tasks/t1/leaderboard/"
    wsgi(page)
    assert not wsgi(page).django
    client = connection.redis_client()
    stored = lambda: len(client.keys("*leaderboard:fast:*"))  # noqa: E731
    before = stored()
    for n in range(fastpath.MAX_VARIANTS + 20):
        wsgi(page, query=f"cachebust={n}")
    assert stored() - before <= fastpath.MAX_VARIANTS
    assert wsgi(page, query=f"cachebust={fastpath.MAX_VARIANTS + 19}").django  # not kept
    assert not wsgi(page).django  # the plain board is still answered from Redis
    assert not wsgi(page, query="cachebust=0").django  # and an admitted variant
    # Once the variants are older than the stored responses' lifetime, new ones are
    # admitted again.
    key = next(iter(client.keys("*leaderboard:fast-variants:*")))
    client.zremrangebyscore(key, "-inf", "+inf")
    wsgi(page, query="later=1")
    assert not wsgi(page, query="later=1").django


# --- the caching headers a shared cache needs (issue 43; the proxy's test: test_proxy.py) ---


def test_an_anonymous_board_may_be_kept_by_a_shared_cache_for_the_grace(board, settings):
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    for name, path in FAST.items():
        for answer in (wsgi(path), wsgi(path)):  # rendered by Django, then the fast path
            assert answer["Cache-Control"] == "public, s-maxage=5", name
            assert re.fullmatch(r'"[0-9a-f]{32}"', answer["ETag"]), name  # strong
            vary = {v.strip() for v in answer["Vary"].split(",")}
            assert {"Cookie", "Authorization"} <= vary, (name, vary)
        for headers in ({"Cookie": "sessionid=x"}, {"Authorization": "Token x"}):
            theirs = wsgi(path, **headers)
            assert "public" not in theirs.headers.get("cache-control", ""), (name, headers)
            assert "etag" not in theirs.headers


def test_a_stale_answer_may_be_kept_only_for_what_is_left_of_its_grace(
    board, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """In a rush the fast path answers a board changed since it was stored (within the
    grace): a shared cache may keep that answer only until the grace since it was stored
    ends, so nothing anywhere is older than the grace after the score."""
    from .cache_helpers import FakeClock

    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    settings.BOARD_CACHE_GRACE_CHANGES = 1  # one change makes a rush here
    clock = FakeClock((int(connection.now() / 5) + 1) * 5 + 0.01)
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    for path in FAST.values():
        assert wsgi(path)["Cache-Control"] == "public, s-maxage=5"  # stored now
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    clock.sleep(1.2)  # the renewal comes at 2.5 s, the grace ends at 5 s
    for path in FAST.values():
        stale = wsgi(path)
        assert not stale.django and b"0.97" not in stale.body, path
        assert stale["Cache-Control"] == "public, s-maxage=3", path
    clock.sleep(1.8)  # 3 s: another read renews it; 2 s of the grace left
    for path in FAST.values():
        renewer = environ_for(path)
        assert fastpath.answer(environ=renewer) is None  # past half the grace: this read renders
        stale = wsgi(path)  # while it renders
        assert not stale.django and stale["Cache-Control"] == "public, s-maxage=2", path
        fastpath.release(environ=renewer)
    clock.sleep(1.5)  # 0.5 s of the grace left: not worth keeping
    for path in FAST.values():
        renewer = environ_for(path)
        assert fastpath.answer(environ=renewer) is None
        stale = wsgi(path)
        assert not stale.django and stale["Cache-Control"] == "no-cache", path
        fastpath.release(environ=renewer)


def test_a_board_that_changed_while_it_was_rendered_is_kept_only_within_the_grace_of_its_render(
    board, settings
):
    """A render that began before a score and ended after it is stale already: it may go
    to its reader, but no shared cache keeps it past the grace since the render began."""
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    challenge, track, task, teams = board
    request = RequestFactory().get("/api/v1/tasks/t1/leaderboard/")
    request.resolver_match = resolve(request.path_info)
    version = board_cache._version(board_cache.TASK, task.pk)
    request.board_fast_note = board_cache.FastNote(
        scope=board_cache.TASK, pk=task.pk, version=version, valid_until=None
    )
    fresh = HttpResponse(b'{"entries": []}', content_type="application/json")
    assert fastpath.store(request=request, response=fresh)
    assert fresh["Cache-Control"] == "public, s-maxage=5"
    request.board_fast_note = board_cache.FastNote(
        scope=board_cache.TASK, pk=task.pk, version=version - 1, valid_until=None
    )
    late = HttpResponse(b'{"entries": [1]}', content_type="application/json")
    fastpath.store(request=request, response=late)
    assert late["Cache-Control"] == "no-cache"
    # Its render began 0.5 s ago: what is left of the grace since then (whole seconds).
    request.board_fast_note = board_cache.FastNote(
        scope=board_cache.TASK,
        pk=task.pk,
        version=version - 1,
        valid_until=None,
        started=connection.now() - 0.5,
    )
    timed = HttpResponse(b'{"entries": [2]}', content_type="application/json")
    fastpath.store(request=request, response=timed)
    assert timed["Cache-Control"] == "public, s-maxage=4"
    request.board_fast_note = board_cache.FastNote(
        scope=board_cache.TASK,
        pk=task.pk,
        version=version - 1,
        valid_until=None,
        started=connection.now() - 4.5,
    )
    slow = HttpResponse(b'{"entries": [3]}', content_type="application/json")
    fastpath.store(request=request, response=slow)
    assert slow["Cache-Control"] == "no-cache"  # its render took most of the grace
