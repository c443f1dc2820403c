"""The board cache: boards served from Redis under versioned keys (issue 15, "deadline rush").
The second of the board cache's layers, behind the fast path (``leaderboard/cache/fastpath.py``);
docs/operators/board-cache.md says what each layer holds, under which key, what invalidates it and
what it guarantees, and how a request flows through them.

A board's key holds a version counter of its task (or track) and what else changes the
cached value (the split, the kind of value). A refresh of a task's entries, or new bootstrap
intervals, bump the task's and its track's versions once their transaction commits
(``leaderboard.refresh.boards_changed_after_commit``), so the next read misses and rebuilds: never a
stale board after a score (but see the grace for anonymous readers below). Old keys are
never deleted; they expire after ``BOARD_CACHE_SECONDS``.

What is cached is the same for every viewer: the rows of one split, the API's JSON, and whole
pages only as rendered for an anonymous visitor sending no cookie (:func:`page`). Who may see
the private split is decided on every request *before* the cache is read
(``challenges.split_access``); for everyone else the page is rendered per request from the
cached rows (their name, staff links, messages, CSRF token). So one viewer's view is never
served to another.

The public boards of a visitor sending neither cookie nor credentials are also kept whole,
as the response they got, by the fast path (``leaderboard/cache/fastpath.py``): a later such
request is answered from one Redis round trip (a script that returns the stored response
only while its board's version is still the one it was computed under), in front of Django
itself: no middleware, session, authentication, CSRF, view or database.

A miss is computed once: concurrent readers of the same key and version wait for the first
one's value (:func:`_compute_once`) instead of all rebuilding the board at once after a score.

Anonymous readers (no session, no credentials) get a grace, ``BOARD_CACHE_GRACE_SECONDS``
(5 s; 0 turns it off), while a board is in a rush: changed at least
``BOARD_CACHE_GRACE_CHANGES`` (10) times in the current window of that length and the one
before (:func:`_hot`, counted by every bump). Then a board page or API answer stale for no
longer than the grace is served to them even after the board changed, by the fast path and by
the view (stale since the score that replaced its version, which the bump notes,
:func:`changed_key`; since it was computed when that is not known); once it is older, one
reader renders the current version while the others keep getting the one computed last
(:func:`_recent_or_render`). So a busy board renders about once per grace, not once per
score, and an anonymous reader's board is at most the grace plus one render past the score
that made it stale. A quiet board is read fresh after a change by anyone past the grace after
the score (a reader who finds another one rendering it gets the last one within it: the
renders process, ``leaderboard/cache/prerender.py``, renders it meanwhile), and a participant
(session or API token) always gets the newest version.

``BOARD_CACHE=0`` (setting ``BOARD_CACHE``) turns it off: every read computes; so does any
cache but Redis (``connection.in_redis``): one private to a process (the test settings' local
memory) could not see a worker's refresh. A refresh's bump is one Redis script per scoring
(:func:`_bump`: the versions of the task's and the track's boards and their change
counters).

The cache is only a shortcut: while Redis cannot be reached (a cut link, a restart) reads
compute from the database and a refresh's bump is logged and skipped (the boards it would
have invalidated expire within ``BOARD_CACHE_SECONDS``, or at the next refresh's bump).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from runtime.localredis import cache_unavailable_errors, cache_unavailable_suppressed

from . import connection

if TYPE_CHECKING:
    from rest_framework.request import Request

T = TypeVar("T")

logger = logging.getLogger(__name__)

TASK = "task"
TRACK = "track"


# A reader finding another one computing the same board waits for its value; the one
# computing holds a lock for COMPUTE_WAIT_SECONDS + 5 s (a crashed holder's is freed then).
# A waiter computes only once it takes that lock, so a render slower than that (a loaded
# host) is followed by one more render, not by every waiting reader's at once (they used to
# give up after COMPUTE_WAIT_SECONDS, all together: on a board server of 16 threads in a
# rush, 16 renders at a time, each slower for the others); and no reader waits more than
# COMPUTE_WAIT_MAX_SECONDS. It looks first after 10 ms, then less and less often.
COMPUTE_WAIT_SECONDS = 10.0
COMPUTE_WAIT_MAX_SECONDS = 60.0
COMPUTE_POLL_SECONDS = 0.01
COMPUTE_POLL_MAX_SECONDS = 0.1
# How long a rendering lock lives if its holder never gives it back (a crash).
RENDERING_LOCK_SECONDS = int(COMPUTE_WAIT_SECONDS) + 5
# The WSGI environ's key holding the rendering lock the fast path took for this request
# (``leaderboard/cache/fastpath.py``: it renews a board in a rush ahead of the grace's end), as
# (the lock's full key, the request's token).
RENEW_ENVIRON = "leaderboard.cache.board_cache.renew"
# The WSGI environ's mark of a request made by the renders process after a score to compute
# a board's answers for every reader (``leaderboard/cache/prerender.py``'s ``warm``): it renders
# the current version at once, where a reader in a rush would get the one computed last.
WARM_ENVIRON = "leaderboard.cache.board_cache.warm"


def version_key(*, scope: str, pk: int) -> str:
    return f"leaderboard:board-version:{scope}:{pk}"


def _version(scope: str, pk: int) -> int:
    key = version_key(scope=scope, pk=pk)
    value = cache.get(key)
    if value is None:
        # A counter lost (eviction, a new Redis) restarts from the clock, above any version
        # the old cached values could carry.
        cache.add(key, time.time_ns() // 1000, timeout=None)
        value = cache.get(key)
    return int(value)


def _version_or_none(scope: str, pk: int) -> int | None:
    """The board's version, or None while the cache cannot be reached."""
    try:
        return _version(scope, pk)
    except cache_unavailable_errors():
        return None


# KEYS: pairs of a board's version key and its current change counter (``_churn_key`` and
# the window); ARGV[1]: the clock in microseconds, ARGV[2]: the counters' lifetime (s),
# ARGV[3]: the clock in seconds (:func:`now`). Each version is incremented, noting when the
# version it replaces went stale (:func:`changed_key`: an anonymous reader's grace counts from
# there), or started from the clock when absent (above any version the old cached values
# could carry); each counter counts one change.
_BUMP = """
for i = 1, #KEYS, 2 do
  local old = redis.call('GET', KEYS[i])
  if old then
    redis.call('SET', KEYS[i] .. ':changed:' .. old, ARGV[3], 'NX', 'EX', ARGV[2])
    redis.call('INCR', KEYS[i])
  else
    redis.call('SET', KEYS[i], ARGV[1])
  end
  redis.call('SET', KEYS[i + 1], 0, 'NX', 'EX', ARGV[2])
  redis.call('INCR', KEYS[i + 1])
end
return 1
"""
_bump_script = None


def _bump(boards: list[tuple[str, int]]) -> None:
    """Increment the versions of ``boards`` and count a change of each: one round trip to
    Redis (a script) after every scoring, instead of five per board through the cache API."""
    global _bump_script
    keys = []
    window = churn_windows()[0]
    for scope, pk in boards:
        keys += [
            cache.make_key(version_key(scope=scope, pk=pk)),
            cache.make_key(_churn_key(scope, pk) + window),
        ]
    client = connection.redis_client()
    if _bump_script is None:
        _bump_script = client.register_script(_BUMP)
    _bump_script(
        keys=keys,
        args=[time.time_ns() // 1000, _churn_seconds(), repr(connection.now())],
        client=client,
    )


def changed_key(*, full_version_key: str, version: str) -> str:
    """Where the bump that replaced ``version`` noted when (:data:`_BUMP`), for the grace's
    :data:`_churn_seconds` (past it no stale answer is within any grace); the version key
    as Redis holds it (``cache.make_key``)."""
    return f"{full_version_key}:changed:{version}"


def _stale_since(key: str, stored: float) -> float:
    """Since when the value under ``key`` (:func:`_key`: its board and version) is stale:
    when a score replaced its version, or, when that is not known, ``stored`` (earlier: a
    version is replaced after its value was computed, or during the computation)."""
    found = re.match(r"leaderboard:board:(\w+):(\d+):v(\d+):", key)
    if found is None:
        return stored
    scope, pk, version = found.group(1), int(found.group(2)), found.group(3)
    changed = connection.redis_client().get(
        changed_key(
            full_version_key=cache.make_key(version_key(scope=scope, pk=pk)), version=version
        )
    )
    return float(changed) if changed is not None else stored


# --- how fast a board changes: the grace applies only to a board in a rush ------------------


def _churn_key(scope: str, pk: int) -> str:
    """The prefix of a board's change counters, one per window (the window's number
    follows)."""
    return f"leaderboard:board-churn:{scope}:{pk}:"


def _window_seconds() -> float:
    """How long a change-counting window is: ``BOARD_CACHE_GRACE_SECONDS``, at least 1 s."""
    return max(settings.BOARD_CACHE_GRACE_SECONDS, 1.0)


def churn_windows() -> tuple[str, str]:
    """The numbers of the current change-counting window and of the one before."""
    n = int(connection.now() // _window_seconds())
    return str(n), str(n - 1)


def _churn_seconds() -> int:
    """How long a change counter is kept: it outlives the window after its own."""
    return int(3 * _window_seconds()) + 1


def _hot(churn: str) -> bool:
    """Whether the board of ``churn`` (:func:`_churn_key`) changed at least
    ``BOARD_CACHE_GRACE_CHANGES`` times in this window and the one before: a board in a
    rush, where the grace pays. A quiet board is always read fresh."""
    counts = cache.get_many([churn + window for window in churn_windows()])
    return sum(int(n) for n in counts.values()) >= settings.BOARD_CACHE_GRACE_CHANGES


def bump(*, task_id: int | None, track_id: int | None) -> list[tuple[str, int]]:
    """The boards of ``task_id`` (and of its track) changed: the next read rebuilds them.
    The boards bumped, as ``(scope, pk)`` (none when there is no cache of the boards or it
    is unavailable). Called once the change commits (``leaderboard.refresh``)."""
    boards = [(TASK, task_id)] if task_id is not None else []
    boards += [(TRACK, track_id)] if track_id is not None else []
    if not boards or not connection.in_redis():
        return []  # nothing to invalidate: no process reads boards from a cache of its own
    try:
        _bump(boards)
    except cache_unavailable_errors() as exc:
        # INFO, not a warning: what it costs is bounded (the boards expire), and Redis being
        # away is said once, by what needs it to act (the broker's publish, the health page),
        # not again by every change that would have bumped a board.
        logger.info(
            "the board cache is unavailable (%s): the cached boards of task %s (track %s) "
            "were not invalidated (they expire within BOARD_CACHE_SECONDS)",
            type(exc).__name__,
            task_id,
            track_id,
        )
        return []
    return boards


def _key(scope: str, pk: int, version: int, *parts: str) -> str:
    return f"leaderboard:board:{scope}:{pk}:v{version}:{':'.join(parts)}"


def _recent_key(scope: str, pk: int, *parts: str) -> str:
    return f"leaderboard:board:{scope}:{pk}:recent:{':'.join(parts)}"


@dataclass(frozen=True)
class Shared:
    """How an anonymous reader's value is shared across a board's versions: ``recent``, the
    key of the value computed last (:func:`_recent_key`), and ``churn``, the board's change
    counters (:func:`_churn_key`)."""

    recent: str
    churn: str


def _compute_once(
    key: str,
    compute: Callable[[], T | None],
    *,
    shared: Shared | None = None,
    renew: str | None = None,
    force: bool = False,
) -> tuple[T | None, bool]:
    """The value under ``key``, computed by one reader at a time: the others wait for it
    (:func:`_wait_for`: one of them computes it once the lock of the one computing expired
    or was given back, the others keep waiting; none more than
    :data:`COMPUTE_WAIT_MAX_SECONDS`). A ``compute()`` returning None keeps nothing (the next
    reader computes).

    With ``shared`` (anonymous readers only, see ``page`` and ``api_response``) the value
    computed last may answer instead (:func:`_recent_or_render`): the second element of the
    answer is then True. In a rush the board changes faster than it renders under load,
    and readers otherwise queued behind a render of every version. ``renew``: the
    rendering lock this request holds already (taken by the fast path, :func:`renewing`);
    ``force``: a warming request (:func:`warming`), which skips the grace's shortcut.
    """
    if shared is not None and settings.BOARD_CACHE_GRACE_SECONDS > 0:
        try:
            answer = _recent_or_render(key, compute, shared, renew=renew, force=force)
        except cache_unavailable_errors():
            return compute(), False  # the cache is a shortcut; the database answers
        if answer is not None:
            return answer
    lock = f"{key}:computing"
    try:
        value = cache.get(key)
        if value is not None:
            return value, False
        took, value = _take_lock(key, lock)
        if value is not None:
            return value, False
        if not took:
            value = _wait_for(key, lock)
            if value is not None:
                return value, False
    except cache_unavailable_errors():
        return compute(), False
    try:
        value = _compute_and_keep(key, compute, shared)
    finally:
        with cache_unavailable_suppressed:
            cache.delete(lock)
    return value, False


def _wait_for(key: str, lock: str) -> object | None:
    """Wait for the value another reader computes under ``key`` (holding ``lock``): the value,
    or None once this reader took the lock (the other gave up, crashed, or computed past the
    lock's life, :data:`COMPUTE_WAIT_SECONDS` + 5 s) or waited
    :data:`COMPUTE_WAIT_MAX_SECONDS`: it computes the value then."""
    started = time.monotonic()
    pause = COMPUTE_POLL_SECONDS
    while True:
        time.sleep(pause)
        pause = min(pause * 1.5, COMPUTE_POLL_MAX_SECONDS)  # many waiters, few lookups
        value = cache.get(key)
        if value is not None:
            return value
        took, value = _take_lock(key, lock)
        if value is not None:
            return value
        if took:
            return None  # the other reader gave up (an error, a crash): compute it here
        if time.monotonic() - started >= COMPUTE_WAIT_MAX_SECONDS:
            return None


def _take_lock(key: str, lock: str) -> tuple[bool, object | None]:
    """Take ``lock`` to compute ``key``'s value: ``(True, None)`` when this reader holds it
    and the value is still missing. The value the holder before kept between this reader's
    look and its lock comes back instead, the lock given back (``(False, value)``): without
    that second look, a reader that looked just before the holder stored the value and
    locked just after it let go computed the value a second time."""
    if not cache.add(lock, 1, timeout=int(COMPUTE_WAIT_SECONDS) + 5):
        return False, None
    value = cache.get(key)
    if value is not None:
        cache.delete(lock)
        return False, value
    return True, None


def _compute_and_keep(key: str, compute: Callable[[], T | None], shared: Shared | None) -> T | None:
    value = compute()
    if value is not None:
        with cache_unavailable_suppressed:
            cache.set(key, value, timeout=settings.BOARD_CACHE_SECONDS)
            if shared is not None:
                mark = (connection.now(), key)
                cache.set(shared.recent, mark, timeout=settings.BOARD_CACHE_SECONDS)
    return value


def rendering_key(*, recent: str) -> str:
    """The lock of the reader rendering a new version of ``recent``'s value."""
    return f"{recent}:rendering"


def _recent_or_render(
    key: str,
    compute: Callable[[], T | None],
    shared: Shared,
    *,
    renew: str | None = None,
    force: bool = False,
) -> tuple[T | None, bool] | None:
    """An anonymous reader's value (the grace, ``BOARD_CACHE_GRACE_SECONDS``):

    - ``key``'s value if computed;
    - else the value computed last (of an earlier version), if it is stale for no longer
      than the grace (:func:`_stale_since`) and the board is in a rush (:func:`_hot`): no
      render at all, so a busy board renders about once per grace;
    - else, if nobody is rendering this value, this reader renders the current version
      (one render at a time per board, not one per version);
    - else, while another reader renders it, the value computed last if it is stale for no
      longer than the grace, or whatever its age if the board is in a rush.

    None when no earlier value is kept, or when it may not be served: the reader then waits
    for ``key`` like a participant. So a quiet board is fresh for a reader past the grace
    after a change, and an anonymous reader's board is at most the grace plus one render
    past the score that made it stale.

    ``renew``: this request took the rendering lock already (the fast path's refresh ahead:
    ``leaderboard/cache/fastpath.py``), so it renders the current version while the others keep
    getting the last one; the lock is given back once the response is stored. ``force``
    (a warming request after a score): no value computed last answers while nobody renders
    the current version; this request renders it."""
    value = cache.get(key)
    if value is not None:
        return value, False
    if renew is not None and renew == cache.make_key(rendering_key(recent=shared.recent)):
        return _compute_and_keep(key, compute, shared), False
    mark = cache.get(shared.recent)
    previous = cache.get(mark[1]) if mark and mark[1] != key else None
    if previous is None:
        return None
    within = connection.now() - _stale_since(mark[1], mark[0]) <= settings.BOARD_CACHE_GRACE_SECONDS
    hot = _hot(shared.churn)
    if within and hot and not force:
        return previous, True
    rendering = rendering_key(recent=shared.recent)
    if cache.add(rendering, 1, timeout=RENDERING_LOCK_SECONDS):
        try:
            return _compute_and_keep(key, compute, shared), False
        finally:
            with cache_unavailable_suppressed:
                cache.delete(rendering)
    if within or hot:
        return previous, True
    return None


def cached(*, scope: str, pk: int, parts: Sequence[str], compute: Callable[[], T]) -> T:
    """``compute()``, kept under ``scope``/``pk``'s current version and ``parts``.

    ``parts`` must name everything the value depends on besides the board's rows (the split,
    which rendering); nothing in it may depend on who is asking.
    """
    if not connection.enabled():
        return compute()
    try:
        version = _version(scope, pk)
    except cache_unavailable_errors():
        return compute()
    return _compute_once(_key(scope, pk, version, *parts), compute)[0]


def _shareable(request: HttpRequest) -> bool:
    """A request whose whole page is the same for everyone sending it: anonymous, with no
    cookie at all (no session, no flashed message, no CSRF cookie to echo)."""
    user = getattr(request, "user", None)
    return connection.enabled() and not request.COOKIES and not (user and user.is_authenticated)


def page(
    *,
    request: HttpRequest,
    scope: str,
    pk: int,
    split: str,
    render: Callable[[], HttpResponse],
    private_link: bool,
    valid_until: float | None = None,
) -> HttpResponse:
    """A board page: rendered whole from the cache for a cookie-less anonymous visitor (the
    bulk of a rush's readers); rendered per request, from the cached rows, for anyone else
    (their name, staff links, messages and CSRF token are theirs).

    ``private_link``: whether the page offers the other split (part of the key: a reveal
    changes the page); ``valid_until``: the time (epoch seconds) after which the shared page
    may no longer be served as it is (the scheduled reveal), for the fast path.
    """
    version = _version_or_none(scope, pk) if _shareable(request) else None
    if version is None:
        response = render()  # per reader, or from the database while Redis is away
    else:
        parts = ("page", split, str(int(private_link)), request.path)
        shared = Shared(_recent_key(scope, pk, *parts), _churn_key(scope, pk))
        _note_fast(request, scope, pk, version, valid_until, shared=shared)
        key = _key(scope, pk, version, *parts)
        rendered: list[HttpResponse] = []

        def for_everyone() -> tuple[bytes, str] | None:
            rendered.append(render())
            response = rendered[0]
            if response.status_code == 200 and not response.cookies:
                return response.content, response["Content-Type"]
            return None  # answered to this reader only

        # Rendered once per version, and for anonymous readers about once per grace: after
        # a score they would all miss at once (``_recent_or_render``).
        hit, previous = _compute_once(
            key,
            for_everyone,
            shared=shared,
            renew=renewing(request=request),
            force=warming(request=request),
        )
        if previous:
            _unnote_fast(request)  # not this version's page: never kept as it
        if rendered:
            response = rendered[0]
        else:
            content, content_type = hit
            response = HttpResponse(content, content_type=content_type)
    patch_vary_headers(response, ["Cookie"])
    return response


def api_response(
    *, request: Request, scope: str, pk: int, split: str, compute: Callable[[], dict]
) -> HttpResponse:
    """A board's API answer: plain JSON (what clients ask for) served as the cached bytes;
    another renderer (the browsable API) renders the cached payload."""
    # Here, not at the top: the management commands a user runs import this module (through
    # the admin) and need nothing of DRF (0.2 s of their start).
    from rest_framework.renderers import JSONRenderer
    from rest_framework.response import Response

    version = _version_or_none(scope, pk) if connection.enabled() else None
    if version is None:
        return Response(compute())
    # An anonymous reader may get the JSON computed last (the grace, ``_recent_or_render``);
    # a participant (token or session) never does.
    shared = (
        Shared(_recent_key(scope, pk, "api-json", split), _churn_key(scope, pk))
        if _shareable(request)
        else None
    )
    _note_fast(request, scope, pk, version, None, shared=shared)

    def payload() -> dict:
        return _compute_once(_key(scope, pk, version, "api", split), compute)[0]

    renderer = getattr(request, "accepted_renderer", None)
    if not isinstance(renderer, JSONRenderer) or request.accepted_media_type != "application/json":
        return Response(payload())
    body, previous = _compute_once(
        _key(scope, pk, version, "api-json", split),
        lambda: renderer.render(payload(), "application/json"),
        shared=shared,
        renew=renewing(request=request) if shared is not None else None,
        force=warming(request=request),
    )
    if previous:
        _unnote_fast(request)
    return HttpResponse(body, content_type="application/json")


# --- what a board view tells the fast path (leaderboard/cache/fastpath.py) ------------------------


@dataclass(frozen=True)
class FastNote:
    """What a board view tells the fast path about the response it is making."""

    scope: str
    pk: int
    version: int
    valid_until: float | None
    # How the response is shared across versions (the grace), or None: not at all.
    shared: Shared | None = None
    # When the version was read, before the board's rows (:func:`now`): the stored answer
    # is stale from the first change after it.
    started: float | None = None


def _note_fast(
    request,
    scope: str,
    pk: int,
    version: int,
    valid_until: float | None,
    *,
    shared: Shared | None = None,
) -> None:
    django_request = getattr(request, "_request", request)  # DRF wraps Django's request
    django_request.board_fast_note = FastNote(
        scope, pk, version, valid_until, shared, started=connection.now()
    )


def renewing(*, request) -> str | None:
    """The rendering lock the fast path took for this request (its full key), or None."""
    django_request = getattr(request, "_request", request)
    taken = django_request.META.get(RENEW_ENVIRON)
    return taken[0] if taken else None


def warming(*, request) -> bool:
    """Whether this request computes a board's answers after a score (:data:`WARM_ENVIRON`)."""
    django_request = getattr(request, "_request", request)
    return bool(django_request.META.get(WARM_ENVIRON))


def _unnote_fast(request) -> None:
    """The response is not the noted version's (an anonymous reader got the previous one):
    the fast path must not keep it as that version's."""
    django_request = getattr(request, "_request", request)
    django_request.board_fast_note = None
