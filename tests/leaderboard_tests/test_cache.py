"""Boards served from a real Redis cache under versioned keys; counts of ranked submissions.

The cache is Django's Redis backend on the session's redis-server (no fake); the version is
bumped by the refresh's ``on_commit`` callbacks, run here with
``django_capture_on_commit_callbacks(execute=True)`` as a commit would run them.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from rest_framework.test import APIClient

from challenges.services import challenge_reveal
from leaderboard.cache import board_cache, connection
from leaderboard.models import LeaderboardEntry
from scoring.services.finals import submission_visibility_set
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, api_key

from .boards import FAST, PAGES, refresh, shown, signed_in_viewers
from .cache_helpers import FakeClock
from .factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


def test_a_score_shows_on_the_next_read_of_every_board(setup, django_capture_on_commit_callbacks):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    for path in PAGES.values():
        assert "0.61" in shown(path) and "0.97" not in shown(path), path
    assert any(k.startswith(b"boards-test") for k in setup_keys(setup))

    scored(task, teams["bo"], 0.97)  # a new score: the refresh bumps the versions
    refresh(task, django_capture_on_commit_callbacks)
    for name, path in PAGES.items():
        assert "0.97" in shown(path), name


def setup_keys(setup) -> list[bytes]:
    from django.conf import settings
    from django.core.cache import cache

    assert settings.CACHES["default"]["KEY_PREFIX"] == "boards-test"
    return list(cache._cache.get_client().keys("boards-test*"))


def test_reads_come_from_the_cache_until_the_board_changes_and_cache_off_reads_the_db(
    setup, settings, django_capture_on_commit_callbacks
):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    for path in PAGES.values():
        shown(path)  # fills the cache
    # A change behind the refresh's back (no version bump) is not seen: the cache serves.
    LeaderboardEntry.objects.filter(task=task).update(score=0.42, metrics={"accuracy": 0.42})
    for name, path in PAGES.items():
        assert "0.61" in shown(path) and "0.42" not in shown(path), name
    settings.BOARD_CACHE = False  # BOARD_CACHE=0: every read computes
    for name, path in PAGES.items():
        assert "0.42" in shown(path), name


def test_no_view_leaks_between_organizer_participant_and_anonymous(
    setup, django_capture_on_commit_callbacks
):
    challenge, track, task, teams = setup
    organizer, pat, participant = signed_in_viewers(setup, django_capture_on_commit_callbacks)
    anonymous = APIClient()

    # The organizer fills the cache with the private split and the staff-only links.
    for path in ("/api/v1/tasks/t1/leaderboard/", "/api/v1/tracks/trk/leaderboard/"):
        body = organizer.get(path + "?split=private").json()
        assert body["split"] == "private" and "0.33" in str(body["entries"])
    assert "0.33" in shown("/tasks/t1/leaderboard/?split=private", organizer)
    assert "Shake-up report" in shown("/tasks/t1/leaderboard/", organizer)

    for client in (participant, anonymous):
        for path in ("/api/v1/tasks/t1/leaderboard/", "/api/v1/tracks/trk/leaderboard/"):
            assert client.get(path + "?split=private").status_code == 403
            public = client.get(path).json()
            assert public["split"] == "public" and "0.33" not in str(public["entries"])
        for path in ("/tasks/t1/leaderboard/", "/tracks/trk/", "/tasks/t1/leaderboard.csv"):
            assert client.get(path + "?split=private").status_code == 404
        page = shown("/tasks/t1/leaderboard/", client)
        assert "0.61" in page and "0.33" not in page and "Shake-up report" not in page

    # Whole pages are shared only among cookie-less anonymous visitors: a signed-in viewer
    # gets their own page (their name, the staff links for an organizer).
    assert "pat-the-participant" in shown("/tasks/t1/leaderboard/", participant)
    assert "pat-the-participant" not in shown("/tasks/t1/leaderboard/", anonymous)
    assert "Shake-up report" in shown("/tasks/t1/leaderboard/", organizer)
    assert "Organizer console" in shown("/tracks/trk/", organizer)
    assert "Organizer console" not in shown("/tracks/trk/", anonymous)
    browsable = anonymous.get("/api/v1/tasks/t1/leaderboard/", HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and "text/html" in browsable["Content-Type"]

    challenge.private_revealed = True  # the reveal opens the same cached private rows
    challenge.save()
    assert "0.33" in str(anonymous.get("/api/v1/tasks/t1/leaderboard/?split=private").json())


def test_counts_are_of_ranked_submissions_and_follow_hiding(
    setup, django_capture_on_commit_callbacks
):
    challenge, track, task, teams = setup
    ann = teams["ann"]
    scored(task, ann, 0.5, minutes=1)
    best = scored(task, ann, 0.7, minutes=2)
    scored(task, ann, None, minutes=30, status="failed")
    scored(task, ann, None, minutes=40, status="queued")
    refresh(task, django_capture_on_commit_callbacks)

    def ann_entry() -> dict:
        body = APIClient().get("/api/v1/tasks/t1/leaderboard/").json()
        return next(e for e in body["entries"] if e["team"] == "ann")

    entry = ann_entry()
    assert entry["submission_count"] == 2
    assert entry["last_submission_at"] == best.created_at.isoformat().replace("+00:00", "Z")

    with django_capture_on_commit_callbacks(execute=True):
        submission_visibility_set(submission=best, hidden=True)  # calls the board's hook
    entry = ann_entry()
    assert entry["submission_count"] == 1 and entry["score"] == 0.5
    with django_capture_on_commit_callbacks(execute=True):
        submission_visibility_set(submission=best, hidden=False)
    assert ann_entry()["submission_count"] == 2


def test_a_cache_private_to_one_process_is_not_used_for_boards(
    setup, settings, django_capture_on_commit_callbacks
):
    """A worker's refresh could not reach a web process's local-memory copy: no caching."""
    challenge, track, task, teams = setup
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    for path in PAGES.values():
        shown(path)
    LeaderboardEntry.objects.filter(task=task).update(score=0.42, metrics={"accuracy": 0.42})
    for name, path in PAGES.items():
        assert "0.42" in shown(path), name


@pytest.fixture
def unreachable_cache(settings):
    """The Redis cache of the deployment, its server gone (connections refused): what the
    web and worker hosts see during scripts/multihost.sh's broker cut."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    settings.BOARD_CACHE = True


def test_without_redis_a_score_still_reaches_the_board_and_every_board_is_served(
    unreachable_cache, django_capture_on_commit_callbacks
):
    """Before, the refresh's cache calls raised inside it: the entries rolled back (the score
    missing from the board until the next one) and every board read was a 500."""
    challenge = ChallengeFactory(slug="c")
    task = make_task(TrackFactory(challenge=challenge, slug="trk"), slug="t1")
    scored(task, make_team(challenge, "ann"), 0.61)
    refresh(task, django_capture_on_commit_callbacks)

    assert LeaderboardEntry.objects.filter(task=task, split="public").count() == 1
    for name, path in PAGES.items():
        assert "0.61" in shown(path), name
    assert "0.61" in shown("/tasks/t1/")  # the task page with its history chart


def test_an_anonymous_reader_gets_public_boards_from_redis_without_the_database(
    setup, django_capture_on_commit_callbacks, django_assert_num_queries
):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    first = {name: APIClient().get(path) for name, path in FAST.items()}  # computed, stored
    for name, path in FAST.items():
        with django_assert_num_queries(0):  # no session, no user, no board query
            again = APIClient().get(path)
        assert again.status_code == 200, name
        assert again.content == first[name].content, name
        for header in ("Content-Type", "Vary", "X-Frame-Options", "X-Content-Type-Options"):
            assert again.get(header) == first[name].get(header), (name, header)
        assert "frame-ancestors 'none'" in again["Content-Security-Policy"], name

    scored(task, teams["bo"], 0.97)  # a score: the next read of every board shows it
    refresh(task, django_capture_on_commit_callbacks)
    for name, path in FAST.items():
        assert "0.97" in shown(path), name


def test_the_fast_path_answers_nobody_who_sends_a_cookie_or_credentials(
    setup, django_capture_on_commit_callbacks
):
    organizer, pat, participant = signed_in_viewers(setup, django_capture_on_commit_callbacks)
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {api_key(pat)}")

    # Signed-in readers first: nothing of theirs is kept for the anonymous ones.
    assert "Organizer console" in shown("/tracks/trk/", organizer)
    assert "pat-the-participant" in shown("/tasks/t1/leaderboard/", participant)
    assert "Organizer console" not in shown("/tracks/trk/")
    assert "pat-the-participant" not in shown("/tasks/t1/leaderboard/")
    # Anonymous readers have filled the fast path: the signed-in ones still get their pages.
    assert "Organizer console" in shown("/tracks/trk/", organizer)
    assert "pat-the-participant" in shown("/tasks/t1/leaderboard/", participant)
    # The private split is never served to whom may not see it, whoever read it before.
    assert "0.33" in shown("/tasks/t1/leaderboard/?split=private", organizer)
    assert by_token.get("/api/v1/tasks/t1/leaderboard/?split=private").status_code == 403
    assert APIClient().get("/api/v1/tasks/t1/leaderboard/?split=private").status_code == 403
    assert APIClient().get("/tasks/t1/leaderboard/?split=private").status_code == 404
    assert "0.61" in str(by_token.get("/api/v1/tasks/t1/leaderboard/").json()["entries"])


def test_a_reveal_shows_at_once_on_the_pages_anonymous_readers_get_from_the_cache(
    setup, django_capture_on_commit_callbacks
):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61, 0.33)
    refresh(task, django_capture_on_commit_callbacks)
    for path in ("/tasks/t1/leaderboard/", "/tracks/trk/"):
        assert "?split=private" not in shown(path)
        assert "?split=private" not in shown(path)  # the second from the fast path

    with django_capture_on_commit_callbacks(execute=True):
        challenge_reveal(challenge=challenge)
    for path in ("/tasks/t1/leaderboard/", "/tracks/trk/"):
        assert "?split=private" in shown(path), path
    assert "0.33" in shown("/tasks/t1/leaderboard/?split=private")

    with django_capture_on_commit_callbacks(execute=True):
        challenge_reveal(challenge=challenge, revealed=False)  # hidden again
    for path in ("/tasks/t1/leaderboard/", "/tracks/trk/"):
        assert "?split=private" not in shown(path), path
    assert APIClient().get("/api/v1/tasks/t1/leaderboard/?split=private").status_code == 403


def test_readers_missing_the_same_board_wait_for_one_computation(redis_cache):
    """After a score every reader misses at once; one computes, the others take its value."""
    computed = []
    version = board_cache._version(board_cache.TASK, 1)
    key = board_cache._key(board_cache.TASK, 1, version, "board", "public")
    assert cache.add(f"{key}:computing", 1)  # another reader is computing this board
    got = {}
    reader = threading.Thread(
        target=lambda: got.update(
            value=board_cache.cached(
                scope=board_cache.TASK,
                pk=1,
                parts=(
                    "board",
                    "public",
                ),
                compute=lambda: computed.append(1),
            )
        )
    )
    reader.start()
    cache.set(key, ["the other reader's rows"])
    reader.join(timeout=30)
    assert got["value"] == ["the other reader's rows"] and computed == []


def test_readers_waiting_past_the_wait_for_a_slow_computation_do_not_all_compute_it(
    redis_cache, monkeypatch
):
    """A computation slower than the wait (a loaded host) is not joined by every waiting
    reader's own at once: each waiter computes only once the lock of the one computing is
    given back or expired, so the readers of one board never all render it together (on a
    board server of 16 threads, 16 renders of a track board each slowed the others down for
    minutes)."""
    monkeypatch.setattr(board_cache, "COMPUTE_WAIT_SECONDS", 0.2)
    version = board_cache._version(board_cache.TASK, 1)
    key = board_cache._key(board_cache.TASK, 1, version, "board", "public")
    assert cache.add(f"{key}:computing", 1, timeout=30)  # a slow reader is computing it
    computed: list[int] = []
    got: list[object] = []

    def read() -> None:
        got.append(
            board_cache.cached(
                scope=board_cache.TASK,
                pk=1,
                parts=(
                    "board",
                    "public",
                ),
                compute=lambda: computed.append(1) or 7,
            )
        )

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    readers[0].join(1.5)  # well past the wait (0.2 s), the slow reader still computing
    assert computed == [] and got == [] and all(t.is_alive() for t in readers)
    cache.delete(f"{key}:computing")  # the slow reader failed: one waiter computes it
    for thread in readers:
        thread.join(30)
    assert computed == [1] and got == [7, 7, 7, 7]


def test_a_worse_try_updates_the_task_board_and_keeps_the_track_board_cached(
    setup, django_capture_on_commit_callbacks
):
    """Only what changed is rewritten: a team's worse try changes its count on the task
    board, not the track's standings, whose cached board stays valid."""
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61, 0.6, minutes=1)
    scored(task, teams["bo"], 0.5, 0.5, minutes=2)
    refresh(task, django_capture_on_commit_callbacks)
    kept = {(e.team.name, e.split): e.pk for e in LeaderboardEntry.objects.filter(task=task)}
    track_version = board_cache._version(board_cache.TRACK, track.pk)
    track_before = shown("/api/v1/tracks/trk/leaderboard/")

    scored(task, teams["ann"], 0.55, 0.55, minutes=3)  # worse than ann's best
    refresh(task, django_capture_on_commit_callbacks)
    ann = next(
        e
        for e in APIClient().get("/api/v1/tasks/t1/leaderboard/").json()["entries"]
        if e["team"] == "ann"
    )
    assert ann["submission_count"] == 2 and ann["score"] == 0.61
    assert board_cache._version(board_cache.TRACK, track.pk) == track_version
    assert shown("/api/v1/tracks/trk/leaderboard/") == track_before
    now = {(e.team.name, e.split): e.pk for e in LeaderboardEntry.objects.filter(task=task)}
    assert now[("bo", "public")] == kept[("bo", "public")]  # bo's rows were not rewritten
    assert now[("ann", "public")] != kept[("ann", "public")]

    scored(task, teams["bo"], 0.9, 0.9, minutes=4)  # bo overtakes ann: the track changes
    refresh(task, django_capture_on_commit_callbacks)
    entries = APIClient().get("/api/v1/tracks/trk/leaderboard/").json()["entries"]
    assert [(e["team"], e["rank"]) for e in entries] == [("bo", 1), ("ann", 2)]
    assert "0.9" in shown("/tracks/trk/")


def test_while_a_new_version_renders_anonymous_readers_get_the_last_one_and_participants_wait(
    setup, redis_cache, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """The grace (BOARD_CACHE_GRACE_SECONDS): an anonymous reader finding another request
    rendering the board's new version gets the version rendered last, if that is recent, and
    it is never kept as the new one's; a participant (token or session) always waits."""
    challenge, track, task, teams = setup
    settings.BOARD_CACHE_GRACE_SECONDS = 30
    api, page = PAGES["task api"], PAGES["task page"]
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    assert "0.61" in shown(api) and "0.61" in shown(page)  # rendered: the last versions
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    for parts in (("api-json", "public"), ("page", "public", "0", page)):
        recent = board_cache._recent_key(board_cache.TASK, task.pk, *parts)
        # another request renders the new version
        assert cache.add(board_cache.rendering_key(recent=recent), 1)

    for _ in range(2):  # not kept for the fast path either: the second read is the same
        assert "0.61" in shown(api) and "0.97" not in shown(api)
        assert "0.61" in shown(page) and "0.97" not in shown(page)

    monkeypatch.setattr(board_cache, "COMPUTE_WAIT_SECONDS", 0.3)  # the other one gives up
    participant = APIClient()
    user = get_user_model().objects.create_user("pat", password="x")
    participant.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    assert "0.97" in shown(api, participant)
    session = APIClient()
    session.force_login(user)
    assert "0.97" in shown(page, session)

    settings.BOARD_CACHE_GRACE_SECONDS = 0  # no grace: anonymous readers wait as well
    assert "0.97" in shown(page) and "0.97" in shown(api)


def test_the_fast_path_serves_a_board_up_to_the_grace_after_it_changed_to_anonymous_readers(
    setup, django_capture_on_commit_callbacks, settings
):
    """Within ``BOARD_CACHE_GRACE_SECONDS`` of being stored, a board answered by the fast path
    is served to readers with no cookie and no credentials even after a score changed it,
    while the board is in a rush (one render per grace, not per score); a participant gets
    the new version at once, and so does everyone once the grace has passed."""
    import time

    challenge, track, task, teams = setup
    settings.BOARD_CACHE_GRACE_SECONDS = 30
    settings.BOARD_CACHE_GRACE_CHANGES = 2  # two changes make a rush here
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    for path in FAST.values():
        assert "0.61" in shown(path), path  # rendered and stored for the fast path
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)

    user = get_user_model().objects.create_user("pat", password="x")
    with_token, signed_in = APIClient(), APIClient()  # a participant on the API, on the pages
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    signed_in.force_login(user)
    for name, path in FAST.items():
        assert "0.97" not in shown(path), name  # anonymous: the stored board, within grace
        assert "0.97" in shown(path, with_token if "api" in name else signed_in), name
    assert "0.97" in shown(PAGES["task csv"])  # not served by the fast path

    settings.BOARD_CACHE_GRACE_SECONDS = 0.2
    time.sleep(0.3)  # the stored boards are now older than the grace
    for name, path in FAST.items():
        assert "0.97" in shown(path), name
        assert "0.97" in shown(path), name  # and the new version is what is stored now


def test_past_the_grace_one_reader_renders_while_anonymous_readers_get_the_last_board(
    setup,
    redis_cache,
    django_capture_on_commit_callbacks,
    settings,
    django_assert_num_queries,
    monkeypatch,
):
    """Past the grace, a reader finding another one rendering a newer version of a board gets
    the board computed last, whatever the version (one render at a time per board, not one
    per score), from the fast path (no query); with nobody rendering, the reader renders the
    current version itself."""
    import time

    challenge, track, task, teams = setup
    settings.BOARD_CACHE_GRACE_SECONDS = 0.2
    settings.BOARD_CACHE_GRACE_CHANGES = 2  # two changes make a rush here
    # Both changes early in one 0.2 s window, the reads in the next one.
    clock = FakeClock((int(time.time() / 0.2) + 1) * 0.2 + 0.01)
    monkeypatch.setattr(board_cache, "time", clock)
    monkeypatch.setattr(connection, "time", clock)
    api, page = PAGES["task api"], PAGES["task page"]
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    assert "0.61" in shown(api) and "0.61" in shown(page)
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    clock.sleep(0.3)  # the boards computed last are now older than the grace
    for parts in (("api-json", "public"), ("page", "public", "0", page)):
        recent = board_cache._recent_key(board_cache.TASK, task.pk, *parts)
        assert cache.add(f"{recent}:rendering", 1)  # another reader renders a newer version
    for _ in range(2):  # and nothing is kept as the new version's
        with django_assert_num_queries(0):
            assert "0.61" in shown(api) and "0.97" not in shown(api)
            assert "0.61" in shown(page) and "0.97" not in shown(page)
    redis_cache.delete(*redis_cache.keys("*leaderboard:fast:*"))  # the view's rule is the same
    assert "0.61" in shown(api) and "0.97" not in shown(api)
    assert "0.61" in shown(page) and "0.97" not in shown(page)

    for parts in (("api-json", "public"), ("page", "public", "0", page)):
        cache.delete(board_cache._recent_key(board_cache.TASK, task.pk, *parts) + ":rendering")
    assert "0.97" in shown(api) and "0.97" in shown(page)  # nobody rendering: rendered here


def test_a_quiet_board_is_read_fresh_after_a_score_by_anonymous_readers_too(
    setup, django_capture_on_commit_callbacks, settings
):
    """The grace applies only to a board in a rush (``BOARD_CACHE_GRACE_CHANGES`` changes in
    the last window or two): a reader who reads the board, waits for a score and reads it
    again sees the score, within the grace too."""
    challenge, track, task, teams = setup
    settings.BOARD_CACHE_GRACE_SECONDS = 30
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    for path in FAST.values():
        assert "0.61" in shown(path), path  # stored for the fast path
    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    for name, path in FAST.items():
        assert "0.97" in shown(path), name
        assert "0.97" in shown(path), name  # and what the fast path keeps now

    settings.BOARD_CACHE_GRACE_CHANGES = 3  # the two refreshes and the next one: a rush
    scored(task, teams["ann"], 0.99, minutes=3)
    refresh(task, django_capture_on_commit_callbacks)
    for name, path in FAST.items():
        assert "0.99" not in shown(path), name  # within the grace, in a rush


def test_the_fast_path_answers_a_reader_holding_the_current_board_with_304(
    setup, django_capture_on_commit_callbacks
):
    """A stored board carries a strong ETag and ``no-cache``; ``If-None-Match`` naming it gets
    304 without a body while the board is unchanged, and the new board once it changed."""
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.61)
    refresh(task, django_capture_on_commit_callbacks)
    etags = {}
    for name, path in FAST.items():
        first = APIClient().get(path)  # rendered by the view and stored
        again = APIClient().get(path)  # from the fast path
        assert first["ETag"] == again["ETag"] and first["ETag"].startswith('"'), name
        assert again["Cache-Control"] == "no-cache" and "Cookie" in again["Vary"], name
        etags[name] = again["ETag"]
        unchanged = APIClient().get(path, HTTP_IF_NONE_MATCH=etags[name])
        assert unchanged.status_code == 304 and unchanged.content == b"", name
        assert unchanged["ETag"] == etags[name] and "Cookie" in unchanged["Vary"], name
        listed = APIClient().get(path, HTTP_IF_NONE_MATCH=f'"other", W/{etags[name]}')
        assert listed.status_code == 304, name  # If-None-Match compares weakly
        for other in ('"not-this-one"', "garbage", ""):  # a plain 200, whatever was sent
            assert "0.61" in APIClient().get(path, HTTP_IF_NONE_MATCH=other).content.decode()

    scored(task, teams["bo"], 0.97)
    refresh(task, django_capture_on_commit_callbacks)
    for name, path in FAST.items():
        changed = APIClient().get(path, HTTP_IF_NONE_MATCH=etags[name])
        assert changed.status_code == 200 and "0.97" in changed.content.decode(), name
        assert changed["ETag"] != etags[name], name


def test_an_etag_of_an_anonymous_board_never_answers_for_a_signed_in_reader(
    setup, django_capture_on_commit_callbacks
):
    """A reader who signed in (a session cookie, or a token) and sends the ETag their browser
    kept from the anonymous board gets their own page, never a 304 for the anonymous one."""
    organizer, pat, participant = signed_in_viewers(setup, django_capture_on_commit_callbacks)
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {api_key(pat)}")
    for path in ("/tasks/t1/leaderboard/", "/tracks/trk/"):
        APIClient().get(path)
        etag = APIClient().get(path)["ETag"]  # the anonymous board, from the fast path
        page = participant.get(path, HTTP_IF_NONE_MATCH=etag)
        assert page.status_code == 200 and "pat-the-participant" in page.content.decode(), path
        assert not page.has_header("ETag"), path
        staff = organizer.get(path, HTTP_IF_NONE_MATCH="*")
        assert staff.status_code == 200 and "Organizer console" in staff.content.decode(), path
    api = "/api/v1/tasks/t1/leaderboard/"
    APIClient().get(api)
    etag = APIClient().get(api)["ETag"]
    assert APIClient().get(api, HTTP_IF_NONE_MATCH=etag).status_code == 304
    answer = by_token.get(api, HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 200 and "0.61" in str(answer.json()["entries"])
    assert by_token.get(api + "?split=private", HTTP_IF_NONE_MATCH="*").status_code == 403


def test_a_bump_moves_the_task_and_track_versions_and_restarts_a_lost_one_above_the_old(
    redis_cache, settings
):
    """One bump (a Redis script) increments both boards' versions and counts a change of each
    (the grace's rush test); a version lost meanwhile (an eviction) restarts from the clock,
    above any version the cached values carry."""
    settings.BOARD_CACHE_GRACE_SECONDS = 5
    task_v = board_cache._version(board_cache.TASK, 7)
    track_v = board_cache._version(board_cache.TRACK, 3)
    board_cache.bump(task_id=7, track_id=3)
    assert board_cache._version(board_cache.TASK, 7) == task_v + 1
    assert board_cache._version(board_cache.TRACK, 3) == track_v + 1
    for scope, pk in ((board_cache.TASK, 7), (board_cache.TRACK, 3)):
        churn = board_cache._churn_key(scope, pk)
        counts = cache.get_many([churn + window for window in board_cache.churn_windows()])
        assert sum(counts.values()) == 1, scope

    cache.delete(board_cache.version_key(scope=board_cache.TASK, pk=7))
    board_cache.bump(task_id=7, track_id=None)
    assert board_cache._version(board_cache.TASK, 7) > task_v + 1
    assert board_cache._version(board_cache.TRACK, 3) == track_v + 1  # not this bump's


def test_a_reader_locking_just_after_the_holder_stored_the_value_takes_that_value(
    redis_cache, monkeypatch
):
    """A reader that looked just before the holder stored the value, and took the lock just
    after the holder gave it back, reads the value again instead of computing it a second
    time (in the suite, two of four waiting readers once computed it)."""
    version = board_cache._version(board_cache.TASK, 2)
    key = board_cache._key(board_cache.TASK, 2, version, "board", "public")
    lock = f"{key}:computing"
    # The Redis cache itself, not django.core.cache.cache: that proxy is every module's, and
    # a patch set through it outlived the test (a later test's upload slots went to Redis).
    redis = caches["default"]
    add = redis.add

    def add_after_the_holder(name, value, timeout=None):
        if name == lock:
            cache.set(key, 7)  # the holder kept it and let go between the look and the lock
        return add(name, value, timeout=timeout)

    monkeypatch.setattr(redis, "add", add_after_the_holder)
    computed: list[int] = []
    value, _ = board_cache._compute_once(key, lambda: computed.append(1) or 8)
    assert (value, computed) == (7, [])
    assert cache.get(lock) is None
