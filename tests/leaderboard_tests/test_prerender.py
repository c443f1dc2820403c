"""Boards rendered after a score lands, before any reader asks (leaderboard/cache/prerender.py): the
render is published on the real broker (the session's Redis) once the score's refresh
commits, and its task body runs here as the renders worker runs it; the readers are the
site's real WSGI application, as in test_fastpath.py."""

from __future__ import annotations

import base64
import json
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from leaderboard import api, selectors, task_names
from leaderboard.boards import read as board_read
from leaderboard.boards import track_first
from leaderboard.cache import board_cache, connection, fastpath, prerender
from leaderboard.tasks import render_boards
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory, api_client_for

from .boards import FAST, refresh, shown
from .cache_helpers import FakeClock
from .factories import scored
from .fastpath_helpers import environ_for, wsgi
from .ladder_world import random_label_task, upload

pytestmark = pytest.mark.django_db

ORIGINAL_TASK_PAYLOAD = api._task_payload


def published(redis_client) -> list[dict]:
    """The render messages on the broker: their kwargs, and whether they wait (an ETA)."""
    found = []
    for queue in redis_client.keys(prerender.QUEUE + "*"):
        for raw in redis_client.lrange(queue, 0, -1):
            message = json.loads(raw)
            assert message["headers"]["task"] == task_names.RENDER_BOARDS
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            found.append({**kwargs, "waits": message["headers"].get("eta") is not None})
    return sorted(found, key=lambda m: (m["scope"], m["pk"]))


@contextmanager
def in_the_tests_transaction():
    """As Django's test client does: the test's transaction outlives the render's request,
    so Django's handler must not close the database connection at its start and end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The answers every bumped task and track board gets computed for every reader, whoever read
# it before (prerender.warm): a task's page and API; a track's, and its transfer matrix's.
WARMED = len(prerender.WARMED_ROUTES["task"]) + len(prerender.WARMED_ROUTES["track"])


def drain(redis_client) -> None:
    """Take the render messages off the broker unrun (the fixture's own score's), and their
    pending marks with them."""
    for key in redis_client.keys(prerender.QUEUE + "*") + redis_client.keys("*render-pending*"):
        redis_client.delete(key)


def task_renders(redis_client, task) -> list[dict]:
    return [m for m in published(redis_client) if m["scope"] == "task" and m["pk"] == task.pk]


def run_renders(redis_client) -> int:
    """Run each published render as the renders worker does (the task's body), taking the
    messages off the broker. Returns the answers rendered."""
    messages = published(redis_client)
    for queue in redis_client.keys(prerender.QUEUE + "*"):
        redis_client.delete(queue)
    with in_the_tests_transaction():
        return sum(render_boards(scope=m["scope"], pk=m["pk"]) for m in messages)


def test_after_a_score_the_boards_readers_read_are_stored_before_any_reader_asks(
    board, django_capture_on_commit_callbacks, redis_client
):
    challenge, track, task, teams = board
    drain(redis_client)
    for name, path in FAST.items():
        assert wsgi(path).django, name  # the readers' variants, stored at this version
    assert published(redis_client) == []  # reads publish nothing
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    renders = published(redis_client)
    assert renders == [
        {"scope": "task", "pk": task.pk, "waits": False},
        {"scope": "track", "pk": track.pk, "waits": False},
    ]
    assert run_renders(redis_client) == len(FAST) + WARMED
    for name, path in FAST.items():
        stored = fastpath.answer(environ=environ_for(path))  # Redis alone, no Django
        assert stored is not None and b"0.97" in stored[2], name
        read = wsgi(path)
        assert not read.django and b"0.97" in read.body, name
        assert read["Cache-Control"] == "no-cache", name  # no grace here: as a reader's render
    assert run_renders(redis_client) == 0  # nothing published, nothing to render again
    with in_the_tests_transaction():
        # A message delivered twice (late acknowledgement) renders nothing: it is stored.
        assert render_boards(scope="task", pk=task.pk) == 0


def test_a_board_nobody_reads_is_computed_for_every_reader_before_anyone_asks(
    board, django_capture_on_commit_callbacks, redis_client, monkeypatch
):
    """Not only the variants anonymous readers read: after a score every answer of the bumped
    boards is computed (the board, P(first), the API's JSON, the shared pages, the transfer
    matrix), so the first read of anyone (anonymous, a token, a session) only reads kept
    values: here every computation is made to fail after the renders ran."""
    challenge, track, task, teams = board
    drain(redis_client)
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    assert published(redis_client) == [
        {"scope": "task", "pk": task.pk, "waits": False},
        {"scope": "track", "pk": track.pk, "waits": False},
    ]
    assert run_renders(redis_client) == WARMED  # nobody read them: every answer warmed

    def computed(*args, **kwargs):
        raise AssertionError("computed on a reader's request")

    for module, name in (
        (board_read, "task_board"),
        (selectors, "leaderboard_for_track"),
        (track_first, "_track_first"),
        (api, "_task_payload"),
        (api, "_track_payload"),
    ):
        monkeypatch.setattr(module, name, computed)
    for name, path in FAST.items():
        read = wsgi(path)  # anonymous: the kept page or JSON
        assert read.status == 200 and b"0.97" in read.body, name
    pat = get_user_model().objects.create_user("pat", password="x")
    signed_in = APIClient()
    signed_in.force_login(pat)  # a page rendered for pat alone, from the kept board
    with_token = api_client_for(pat)  # the API's kept JSON
    for name, path in FAST.items():
        assert "0.97" in shown(path, signed_in), name
        assert "0.97" in shown(path, with_token), name
    with in_the_tests_transaction():
        assert render_boards(scope="task", pk=task.pk) == 0  # computed already: nothing again


def test_a_burst_of_scores_renders_once_and_a_score_after_the_render_starts_renders_again(
    board, django_capture_on_commit_callbacks, redis_client, settings, monkeypatch
):
    """Coalesced per board: one render pending at a time; once it started, the next score
    publishes the next one, spaced from the last render's start in a rush."""
    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    clock = FakeClock(connection.now())
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    api = FAST["task api"]
    drain(redis_client)
    assert wsgi(api).django
    for team, score in (("bo", 0.7), ("ann", 0.8), ("bo", 0.9)):
        scored(task, teams[team], score)
        refresh(task, django_capture_on_commit_callbacks)
    assert task_renders(redis_client, task) == [{"scope": "task", "pk": task.pk, "waits": False}]
    assert run_renders(redis_client) == 1 + WARMED  # the variant read; each board's answers
    assert b"0.9" in wsgi(api).body
    scored(task, teams["ann"], 0.95)
    refresh(task, django_capture_on_commit_callbacks)
    # Within SPACING of the grace since that render began: published to run once it passed.
    assert task_renders(redis_client, task) == [{"scope": "task", "pk": task.pk, "waits": True}]
    clock.sleep(prerender.SPACING * 5)
    assert run_renders(redis_client) >= 1
    assert b"0.95" in wsgi(api).body


def test_in_a_rush_readers_keep_the_last_board_while_it_renders_then_get_the_new_one(
    board, django_capture_on_commit_callbacks, redis_client, settings, monkeypatch
):
    """The render holds the board's rendering lock: readers meanwhile get the last board
    from Redis (never waiting for the render, never rendering it themselves), within the
    grace's rules; once stored, the new board with the whole grace for a shared cache."""
    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    settings.BOARD_CACHE_GRACE_CHANGES = 1  # one change makes a rush here
    clock = FakeClock((int(connection.now() / 5) + 1) * 5 + 0.01)
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    for path in FAST.values():
        assert wsgi(path).django
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    clock.sleep(2.6)  # past half the grace: without the render ahead a reader would render
    during: list = []
    call = prerender._call

    def render_while_read(environ):
        # A reader while the board renders: answered by the fast path (Redis alone).
        if not environ.get(prerender.WARMING):  # (a warming request renders for no reader)
            during.append(fastpath.answer(environ=environ_for(environ["PATH_INFO"])))
        return call(environ)

    monkeypatch.setattr(prerender, "_call", render_while_read)
    assert run_renders(redis_client) == len(FAST) + WARMED
    assert len(during) == len(FAST)
    for answer in during:
        assert answer is not None and b"0.61" in answer[2] and b"0.97" not in answer[2]
        # What is left of the last board's grace, for a shared cache.
        assert ("Cache-Control", "public, s-maxage=2") in answer[1]
    clock.sleep(4)  # past the old board's grace: the new one is stored
    for name, path in FAST.items():
        read = wsgi(path)
        assert not read.django and b"0.97" in read.body, name
        assert read["Cache-Control"] == "public, s-maxage=5", name
        assert read["ETag"].startswith('"') and not read["ETag"].startswith('W/'), name


def test_a_render_that_fails_gives_the_board_back_to_its_readers(
    board, django_capture_on_commit_callbacks, redis_client, settings, monkeypatch
):
    """A variant Django no longer answers 200 (here its host is no longer allowed) is not
    stored, and its rendering lock is given back: the next reader past half the grace
    renews the board itself, as without the renders process."""
    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    settings.BOARD_CACHE_GRACE_CHANGES = 1
    clock = FakeClock((int(connection.now() / 5) + 1) * 5 + 0.01)
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    api = FAST["task api"]
    assert wsgi(api).django
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    settings.ALLOWED_HOSTS = ["elsewhere.example"]
    # The variant read is not answered (its host); the answers warmed for every reader are
    # asked of the platform's own host, and kept in the board cache only.
    assert run_renders(redis_client) == WARMED
    settings.ALLOWED_HOSTS = ["testserver"]
    assert b"0.97" not in wsgi(api).body  # the last board, within its grace
    clock.sleep(3)
    renewer = environ_for(api)
    assert fastpath.answer(environ=renewer) is None  # a reader takes the lock: it was given back
    fastpath.release(environ=renewer)


def test_with_the_board_cache_off_nothing_is_published_nor_rendered(
    board, django_capture_on_commit_callbacks, redis_client, settings
):
    challenge, track, task, teams = board
    drain(redis_client)
    for path in FAST.values():
        wsgi(path)
    settings.BOARD_CACHE = False
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    assert published(redis_client) == []
    with in_the_tests_transaction():
        assert render_boards(scope="task", pk=task.pk) == 0


def test_while_a_quiet_board_renders_its_readers_keep_the_last_one_until_the_grace_after_the_score(
    board, django_capture_on_commit_callbacks, redis_client, settings, monkeypatch
):
    """The grace counts from the score that made a board stale, not from the render of the
    last one: a board stored 5.5 s ago and changed 1.5 s ago is within a 5 s grace while
    another request renders it, from the fast path (with what is left of the grace for a
    shared cache) and from Django's board cache alike (another request variant); past the
    grace after the score, never."""
    challenge, track, task, teams = board
    settings.BOARD_CACHE_GRACE_SECONDS = 5  # 10 changes make a rush: this board is quiet
    clock = FakeClock(connection.now())
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    for path in FAST.values():
        assert wsgi(path).django
    clock.sleep(4)
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    # 1.5 s, not a whole number: the grace left (3.5 s) is whole seconds rounded down, and
    # at 3.0 the score's time, stored to the microsecond, could leave 2.999999.
    clock.sleep(1.5)
    for path in FAST.values():  # the renders process renders the new boards
        lock = redis_client.hget(fastpath.key(environ=environ_for(path)), "rendering")
        assert redis_client.set(lock, "renders", nx=True)
    for name, path in FAST.items():
        stored = fastpath.answer(environ=environ_for(path))
        assert stored is not None and b"0.61" in stored[2] and b"0.97" not in stored[2], name
        assert ("Cache-Control", "public, s-maxage=3") in stored[1], name
        other = wsgi(path, Accept_Encoding="br")  # a variant the fast path does not hold
        assert other.django and b"0.61" in other.body and b"0.97" not in other.body, name
    clock.sleep(4)  # past the grace after the score: the new board, renders or not
    for name, path in FAST.items():
        assert b"0.97" in wsgi(path).body, name
        assert b"0.97" in wsgi(path, Accept_Encoding="br").body, name


def test_a_reader_varying_the_query_cannot_make_the_renders_process_render_without_bound(
    board, django_capture_on_commit_callbacks, redis_client
):
    """Each stored request variant is rendered again after a score, and a hostile reader
    decides the variants (query strings): at most ``fastpath.MAX_VARIANTS`` per board are
    stored, so at most that many are rendered, each answering its own query as before."""
    challenge, track, task, teams = board
    api = FAST["task api"]
    for n in range(fastpath.MAX_VARIANTS + 8):
        assert wsgi(api, query=f"x={n}").status == 200
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    assert run_renders(redis_client) == fastpath.MAX_VARIANTS + WARMED
    for n in (0, fastpath.MAX_VARIANTS - 1):
        read = wsgi(api, query=f"x={n}")
        assert not read.django and b"0.97" in read.body


def test_a_server_process_preloads_what_a_board_computation_imports(settings):
    """The web's workers (gunicorn's post_worker_init: ``SERVER_PRELOAD``) and the renders
    worker import the statistics and data stack at their start, not on the first read after
    a score (seconds on a loaded host)."""
    assert "leaderboard.cache.prerender.preload" in settings.SERVER_PRELOAD
    for name in settings.SERVER_PRELOAD:
        import_string(name)()
    assert all(name in sys.modules for name in prerender.PRELOADED)


def test_a_ladder_board_is_computed_as_its_readers_read_it(
    redis_cache, tmp_path, django_capture_on_commit_callbacks, redis_client, monkeypatch
):
    """On a ladder board (the product default, docs/organizers/ladder.md) the answers
    computed after a score are the ones its readers get: an anonymous reader and a
    participant read the one kept answer, with the team's shown score and no exact figure
    (``leaderboard.boards.shown``); an organizer's answer, with the exact score beside the shown
    one, is made from the kept board without computing it again."""
    ChallengeFactory(slug="cup", daily_submission_limit=100)
    planted = random_label_task(tmp_path, challenge="cup", slug="lt", rows=2000, mode="ladder")
    task = planted.task
    team = TeamFactory(challenge=task.track.challenge, name="owls")
    wrong = np.where(planted.truth == "0", "1", "0")
    right = np.random.default_rng(5).random(planted.truth.size) < 0.7
    values = np.where(right, planted.truth, wrong)
    drain(redis_client)
    with django_capture_on_commit_callbacks(execute=True):
        submission = upload(planted, team, values, tmp_path, "first")
    assert task_renders(redis_client, task) == [{"scope": "task", "pk": task.pk, "waits": False}]
    assert run_renders(redis_client) >= WARMED  # nobody read it: every answer warmed

    def computed(*args, **kwargs):
        raise AssertionError("computed on a reader's request")

    for module, name in ((board_read, "task_board"), (api, "_task_payload")):
        monkeypatch.setattr(module, name, computed)
    path = f"/api/v1/tasks/{task.slug}/leaderboard/"
    pat = get_user_model().objects.create_user("pat", password="x")
    answers = {}
    for who, client in (("anonymous", APIClient()), ("participant", api_client_for(pat))):
        response = client.get(path)
        assert response.status_code == 200, who
        (entry,) = [e for e in response.json()["entries"] if e["team"] == "owls"]
        assert entry["shown_score"] is not None and entry["score"] == entry["shown_score"], who
        assert entry["exact_score"] is None and entry["score_low"] is None, who
        assert entry["withheld"], who
        answers[who] = response.content
    assert answers["anonymous"] == answers["participant"]  # one kept answer for both

    monkeypatch.setattr(api, "_task_payload", ORIGINAL_TASK_PAYLOAD)  # the organizer's own
    organizer = get_user_model().objects.create_user("org", is_staff=True, is_superuser=True)
    body = api_client_for(organizer).get(path).json()  # board_read.task_board still fails
    (entry,) = [e for e in body["entries"] if e["team"] == "owls"]
    assert entry["exact_score"] == pytest.approx(submission.public_score)
    assert entry["withheld"] is None
