"""The boards' fast path: a public board for a reader without cookie or credentials, straight
from Redis, in front of Django (issues 15 and 27, "deadline rush"). The first of the board
cache's layers: docs/operators/board-cache.md says what each holds, under which key, what
invalidates it and what it guarantees.

A reader sending no ``Cookie`` and no ``Authorization`` header is anonymous whatever the
session, CSRF and authentication middleware would find, and the public split of a board is
the same for every anonymous reader. So the response a board view made for such a ``GET``
is kept whole in Redis (:func:`store`, called by :class:`BoardFastPathMiddleware`, the
first middleware, so that it keeps the headers every other middleware added), under a key
of everything that request's answer depends on (:func:`key`), tied to the board's version.
A later such ``GET`` or ``HEAD`` with the same key is answered by :func:`answer`, one Redis
round trip (a script that returns the stored response only while the board's version is
unchanged, or while the grace lets an anonymous reader have it, the rule of
``leaderboard/cache/board_cache.py``; past half the grace of a board in a rush one read is sent on
to Django to render the new version while the others keep getting the stored one: the
board is renewed ahead, docs/operators/board-cache.md):

- by :class:`BoardFastPathApp`, a WSGI wrapper around Django's application (the site's
  ``WSGI_MIDDLEWARE``), before any of Django's request handling: the rush's reads cost
  the web a Redis call and the bytes, not the middleware chain;
- by :class:`BoardFastPathMiddleware` otherwise (Django's test client, a server run
  without the wrapper), with the same :func:`answer`.

Every answer carries the stored headers (``X-Content-Type-Options``, ``Referrer-Policy``,
``X-Frame-Options``, ``Vary``... as Django made them for that key) and, per request, a
``Content-Security-Policy`` with a fresh nonce (``challenges.middleware
.policy_for_view``: the same rule as every other page; a body holding its request's nonce
is never stored). A stored response carries a strong ``ETag`` of its body, ``Vary: Cookie,
Authorization`` (with Django's own), and ``Cache-Control: public, s-maxage=<grace>`` (what is
left of the grace for a stale answer; ``no-cache`` without a grace: :func:`cache_control`),
so a shared cache in front (the deployment's HAProxy: ``leaderboard/cache/proxy.py``) serves the
boards at the cost of a static file and never older than the grace after a score; a reader
whose ``If-None-Match`` names it (weak comparison, or ``*``, as RFC 9110 says) gets 304 Not
Modified without a body. Anyone else, and the private split, go through the whole stack and
get no validator from here: a reader who signs in sends a cookie, so an ETag of the
anonymous page never answers for a participant's page.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import get_path_info
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

from challenges.middleware import policy_for_view
from challenges.security import new_nonce
from runtime.localredis import cache_unavailable_errors, cache_unavailable_suppressed

from . import board_cache, connection

# URL names of the boards served this way (pages and API; not the CSV exports).
FAST_ROUTES = frozenset(
    {"leaderboard:task", "leaderboard:track", "api-task-leaderboard", "api-track-leaderboard"}
)

# KEYS[1]: the stored response (a hash). It is returned while the board's version key (named
# in the hash) still holds the version it was computed under. After the board changed, with
# a grace (ARGV[2] seconds > 0; ARGV[1] is now), the view's rule (``_recent_or_render``)
# without the view: while it is stale for no longer than the grace (since the score that
# replaced its version, noted by the bump, ``board_cache.changed_key``; or, when that is not
# known, since its render began) if the board is in a rush (at least ARGV[5] changes counted
# under the hash's churn prefix in windows ARGV[3] and ARGV[4]) or if another request renders
# the new version (its rendering lock, named in the hash, exists); past the grace only if
# both. The third value returned is since when a stale answer is stale ('' for the current
# version): what is left of its grace is what a shared cache may keep it.
# Refreshing ahead: a board in a rush whose stored answer was stored more than ARGV[6]
# seconds ago (a part of the grace; from its storing, so that a slow render is not followed
# at once by the next) with nobody rendering it: this request takes the rendering lock (value
# ARGV[7], for ARGV[8] seconds) and gets {'render', the lock's key}: Django renders the new
# version while every other reader keeps getting this one, so readers never wait for a
# render nor all miss together at the end of the grace. Every look notes when the variant was
# last read ('read'): the boards rendered after a score (``leaderboard/cache/prerender.py``) are
# the variants readers still read.
_GET = """
local e = redis.call('HMGET', KEYS[1], 'vkey', 'version', 'meta', 'body', 'at', 'rendering',
                     'churn', 'stored')
if not e[1] then return false end
redis.call('HSET', KEYS[1], 'read', ARGV[1])
if redis.call('GET', e[1]) ~= e[2] then
  local grace = tonumber(ARGV[2])
  if grace <= 0 or not e[5] or not e[7] or e[7] == '' then return false end
  local changes = tonumber(redis.call('GET', e[7] .. ARGV[3]) or '0')
                + tonumber(redis.call('GET', e[7] .. ARGV[4]) or '0')
  local hot = changes >= tonumber(ARGV[5])
  local since = tonumber(e[5])
  local changed = redis.call('GET', e[1] .. ':changed:' .. e[2])
  if changed then since = tonumber(changed) end
  local within = tonumber(ARGV[1]) - since <= grace
  local kept = tonumber(ARGV[1]) - tonumber(e[8] or e[5])
  local renewing = e[6] and e[6] ~= '' and redis.call('EXISTS', e[6]) == 1
  if hot and not renewing and kept >= tonumber(ARGV[6])
     and redis.call('SET', e[6], ARGV[7], 'NX', 'EX', ARGV[8]) then
    return {'render', e[6]}
  end
  if not ((within and (hot or renewing)) or (hot and renewing)) then return false end
  return {e[3], e[4], string.format('%.6f', since)}
end
return {e[3], e[4], ''}
"""

# Headers never stored: set per response (the policy's nonce, the length, a cookie).
_NOT_STORED = frozenset({"set-cookie", "content-length", "content-security-policy"})
# Kept on a 304 (RFC 9110 15.4.5, and the security headers every answer carries): all the
# stored ones but the body's own.
_NOT_ON_304 = frozenset({"content-type", "content-length", "content-encoding"})
# A shared board may be kept by the reader's browser (or a cache keyed on Cookie, as Vary
# says) but is revalidated on every use: the next read after a score must show it. That is
# the rule without a grace (BOARD_CACHE_GRACE_SECONDS under 1 s); with one, a shared cache
# (the deployment's HAProxy, leaderboard/cache/proxy.py) may keep it for what is left of the grace
# (:func:`cache_control`).
CACHE_CONTROL = "no-cache"
# What an anonymous board varies on: the fast path answers only requests without a cookie
# and credentials, and the API's negotiation reads Accept.
VARY = ("Cookie", "Authorization")
# Request headers a stored response may vary on: the key holds Accept and Accept-Encoding,
# and the fast path only answers requests without Cookie and Authorization.
_KEYED_VARY = frozenset({"cookie", "accept", "authorization", "accept-encoding"})
# What a board's answer for a reader without cookie or credentials depends on, as the WSGI
# environ holds it: the scheme (HSTS, the TLS redirect), the host, the raw path and query,
# and what the API negotiates on. Raw values, so the wrapper and Django compute one key.
KEYED_ENVIRON = (
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
)

Answer = tuple[int, list[tuple[str, str]], bytes]


def cache_control(*, stale_since: float | None = None) -> str:
    """``Cache-Control`` of an anonymous board's answer: ``public, s-maxage=<grace>`` for
    the current version, so that a shared cache serves it for the grace (whole seconds)
    without asking; for a stale answer (the grace, ``stale_since`` when its render began)
    only what is left of the grace, so that no reader ever gets a board older than the grace
    after a score, from the cache or from here. ``no-cache`` when nothing is left, or with
    no grace at all."""
    grace = max(settings.BOARD_CACHE_GRACE_SECONDS, 0)
    left = grace if stale_since is None else grace - (connection.now() - stale_since)
    seconds = int(left)
    return CACHE_CONTROL if seconds < 1 else f"public, s-maxage={seconds}"


# Stored request variants per board (query strings, Accept values, hosts): what anonymous
# readers can make Redis hold for one board is at most this many copies of its page.
MAX_VARIANTS = 32


def key(*, environ: Mapping[str, Any]) -> str:
    """The stored response's key: a hash of the request's values in ``KEYED_ENVIRON`` (a
    JSON list, so no two requests' values run into one another)."""
    values = json.dumps([str(environ.get(name, "")) for name in KEYED_ENVIRON])
    digest = hashlib.sha256(values.encode("ascii")).hexdigest()
    return cache.make_key(f"leaderboard:fast:{digest}")


def board_route(*, environ: Mapping[str, Any]) -> str | None:
    """The URL name of the board ``environ`` asks for, or None: not a board served this
    way."""
    try:
        match = resolve(get_path_info(environ))
    except Resolver404:
        return None
    return match.view_name if match.view_name in FAST_ROUTES else None


def anonymous_read(*, environ: Mapping[str, Any]) -> bool:
    """A ``GET`` or ``HEAD`` sending no cookie and no credentials, of a board, with the board
    cache on: the only requests the fast path may answer."""
    return (
        environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        and not environ.get("HTTP_COOKIE")
        and not environ.get("HTTP_AUTHORIZATION")
        and connection.enabled()
        and board_route(environ=environ) is not None
    )


_script = None
# Where a stale answer of a board in a rush starts being renewed: this part of the grace.
# The render then has the rest of the grace to finish before any reader would wait for it.
REFRESH_AT = 0.5
# Set in the environ when this request took the rendering lock (:data:`_GET`): the lock's
# key and this request's token (:func:`release`).
RENEW = board_cache.RENEW_ENVIRON


def _stored(
    stored_key: str, environ: dict[str, Any]
) -> tuple[int, list[tuple[str, str]], str, bytes] | None:
    global _script
    client = connection.redis_client()
    if _script is None:
        _script = client.register_script(_GET)
    grace = max(settings.BOARD_CACHE_GRACE_SECONDS, 0)
    now, before = board_cache.churn_windows()
    token = secrets.token_hex(8)
    args = [
        repr(connection.now()),
        repr(grace),
        now,
        before,
        settings.BOARD_CACHE_GRACE_CHANGES,
        repr(grace * REFRESH_AT),
        token,
        board_cache.RENDERING_LOCK_SECONDS,
    ]
    hit = _script(keys=[stored_key], args=args, client=client)
    if not hit:
        return None
    if len(hit) == 2:  # {'render', lock}: this request renders the new version, in Django
        environ[RENEW] = (hit[1].decode(), token)
        return None
    meta, body, stale_since = hit
    status, headers, view_name = json.loads(meta)
    control = cache_control(stale_since=float(stale_since) if stale_since else None)
    headers = [(n, v) for n, v in headers if n.lower() != "cache-control"]
    headers.append(("Cache-Control", control))
    return status, headers, view_name, body


# Deletes the rendering lock KEYS[1] only while it holds this request's token ARGV[1].
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def release(*, environ: Mapping[str, Any]) -> None:
    """Give back the rendering lock this request took (:data:`_GET`), if the view did not
    (it failed, or answered without the board cache): the next reader renders."""
    taken = environ.get(RENEW)
    if not taken:
        return
    with cache_unavailable_suppressed:
        connection.redis_client().eval(_RELEASE, 1, taken[0], taken[1])


# Set in the environ by the first :func:`answer` to a request: a miss is not asked twice
# (the WSGI wrapper, then the middleware); and by a render after a score, which Django
# must render (``leaderboard/cache/prerender.py``).
ASKED = "leaderboard.cache.fastpath.asked"
# Set in the environ by a render after a score: when a reader last read the variant it
# renders (the stored answer's 'read', kept: a render is not a read).
READ_AT = "leaderboard.cache.fastpath.read_at"


def answer(*, environ: dict[str, Any]) -> Answer | None:
    """The stored answer to an anonymous read (:func:`anonymous_read`) of a board, or None:
    Django answers (anyone else, a miss, Redis away, or this request renews the board)."""
    if environ.get(ASKED) or not anonymous_read(environ=environ):
        return None  # not one, or the wrapper in front already asked Redis
    environ[ASKED] = True
    try:
        hit = _stored(key(environ=environ), environ)
    except cache_unavailable_errors():
        return None  # Redis is away: the whole stack (and the database) answers
    if hit is None:
        return None
    status, headers, view_name, body = hit
    headers.append(
        ("Content-Security-Policy", policy_for_view(view_name=view_name, nonce=new_nonce()))
    )
    etag = next((value for name, value in headers if name.lower() == "etag"), None)
    if etag is not None and _none_match_fails(environ.get("HTTP_IF_NONE_MATCH"), etag):
        return 304, [(n, v) for n, v in headers if n.lower() not in _NOT_ON_304], b""
    headers.append(("Content-Length", str(len(body))))
    return status, headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else body


def _none_match_fails(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison) or is ``*``."""
    if not if_none_match:
        return False
    etags = parse_etags(if_none_match)
    if "*" in etags:
        return True
    target = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == target for tag in etags)


def store(*, request: HttpRequest, response: HttpResponse) -> bool:
    """Keep ``response`` for the fast path if a board view noted it (``board_fast_note``, the
    version it was computed under) for an anonymous read of the public split. Only a plain
    200 that sets no cookie, varies on nothing but what the key holds, sets no validator or
    cache rule of its own and holds no nonce of this request. The response gets the stored
    validators (``ETag``, ``Cache-Control``) too."""
    note: board_cache.FastNote | None = getattr(request, "board_fast_note", None)
    if note is None or board_cache.warming(request=request) or not _storable(request, response):
        return False  # (a warming request's host and headers are no reader's)
    timeout = settings.BOARD_CACHE_SECONDS
    if note.valid_until is not None:
        timeout = min(timeout, int(note.valid_until - connection.now()))
        if timeout <= 0:
            return False
    # Validators, once per stored response (not per read): a strong ETag of the body, the
    # same for every anonymous reader of this key, so a reader's next ``If-None-Match`` is
    # answered 304 while the board is unchanged; and how long a shared cache may keep it.
    response["ETag"] = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    response["Cache-Control"] = _stored_cache_control(note)
    headers = [(k, v) for k, v in response.items() if k.lower() not in _NOT_STORED]
    view_name = request.resolver_match.view_name if request.resolver_match else ""
    shared = note.shared
    mapping = {
        "vkey": cache.make_key(board_cache.version_key(scope=note.scope, pk=note.pk)),
        "version": str(note.version),
        "meta": json.dumps([response.status_code, headers, view_name]),
        "body": response.content,
        # When its render began: a score after that makes it stale (the grace counts from
        # there, not from the end of a render that may have taken a while).
        "at": repr(note.started if note.started is not None else connection.now()),
        "stored": repr(connection.now()),
        "rendering": cache.make_key(board_cache.rendering_key(recent=shared.recent))
        if shared
        else "",
        "churn": cache.make_key(shared.churn) if shared else "",
        # What the request sent (the key's values), so that the board can be rendered again
        # for this key after a score before any reader asks (``leaderboard/cache/prerender.py``),
        # and when a reader last asked for it.
        "environ": json.dumps([str(request.META.get(name, "")) for name in KEYED_ENVIRON]),
        "read": request.META.get(READ_AT) or repr(connection.now()),
    }
    stored_key = key(environ=request.META)
    with cache_unavailable_suppressed:
        if not _variant_admitted(note, stored_key):
            return False
        pipe = connection.redis_client().pipeline(transaction=True)
        pipe.delete(stored_key)
        pipe.hset(stored_key, mapping=mapping)
        pipe.expire(stored_key, timeout)
        pipe.execute()
        return True
    return False


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether ``response`` may be kept for every anonymous reader of its key: an anonymous
    ``GET`` of the public split answered by a plain 200 that sets no cookie, varies on
    nothing but what the key holds, sets no validator or cache rule of its own and holds no
    nonce of this request. Adds the ``Vary`` the fast path keys on."""
    if request.method != "GET" or not anonymous_read(environ=request.META):
        return False
    if request.GET.getlist("split") not in ([], ["public"]):
        return False  # the private split is decided per request, by the view
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if response.has_header("ETag") or response.has_header("Cache-Control"):
        return False
    patch_vary_headers(response, VARY)
    vary = {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}
    if not vary <= _KEYED_VARY:
        return False
    nonce = getattr(request, "csp_nonce", None)
    # The page is this request's if it holds its nonce: that must not be served again.
    return not (nonce and nonce.encode() in response.content)


def _stored_cache_control(note: board_cache.FastNote) -> str:
    """How long a shared cache may keep a stored answer: the grace for the current version;
    a board that changed while it was rendered is stale already, kept only for what is left
    of the grace since its render began, or not at all when that is not known."""
    current = board_cache._version_or_none(note.scope, note.pk)
    if current == note.version:
        return cache_control()
    if note.started is not None:
        return cache_control(stale_since=note.started)
    return CACHE_CONTROL


def variants_key(*, scope: str, pk: int) -> str:
    """The sorted set of a board's stored request variants (their keys, by when stored)."""
    return f"leaderboard:fast-variants:{scope}:{pk}"


def _variant_admitted(note: board_cache.FastNote, stored_key: str) -> bool:
    """Whether one more request variant (another query string, ``Accept``, host...) of the
    board may be stored: at most ``MAX_VARIANTS`` per board within the stored responses'
    lifetime. The key holds what anonymous readers send, so without a bound a reader
    varying a query parameter would fill the Redis the broker lives in with copies of the
    page; past it, such reads are answered by Django (from the board's own cache)."""
    members = cache.make_key(variants_key(scope=note.scope, pk=note.pk))
    now = connection.now()
    pipe = connection.redis_client().pipeline(transaction=True)
    pipe.zremrangebyscore(members, "-inf", now - settings.BOARD_CACHE_SECONDS)
    pipe.zadd(members, {stored_key: now})
    pipe.zcard(members)
    pipe.expire(members, settings.BOARD_CACHE_SECONDS)  # no stored variant outlives it
    _, added, size, _ = pipe.execute()
    if size <= MAX_VARIANTS:
        return True
    if added:
        connection.redis_client().zrem(members, stored_key)
    return False


def as_response(*, found: Answer) -> HttpResponse:
    """A stored answer as Django's response (the middleware's hits)."""
    status, headers, body = found
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


class BoardFastPathApp:
    """WSGI wrapper: answers an anonymous read of a board from :func:`answer` before Django
    sees the request; anything else is Django's."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        found = answer(environ=environ)
        if found is None:
            try:
                return self.application(environ, start_response)
            finally:
                release(environ=environ)
        status, headers, body = found
        start_response(_status_line(status), headers)
        return [body]


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


class BoardFastPathMiddleware:
    """The fast path inside Django: the first middleware. It keeps a board's response made
    for an anonymous read for the fast path, after every other middleware added its headers
    (:func:`store`), and answers such a read from the stored response when the WSGI wrapper
    in front of Django (:class:`BoardFastPathApp`) did not: Django's test client, a server
    run without it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = answer(environ=request.META)
        if found is not None:
            return as_response(found=found)
        try:
            response = self.get_response(request)
            store(
                request=request, response=response
            )  # with its validators, if a board view noted it
        finally:
            release(environ=request.META)
        return response
