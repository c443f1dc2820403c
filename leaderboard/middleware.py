"""The boards' fast path: a public board for a reader without cookie or credentials, straight
from Redis (issue 15, "deadline rush").

Placed before the session, CSRF and authentication middleware: a reader sending no
``Cookie`` and no ``Authorization`` header is anonymous whatever those would find, and the
public split of a board is the same for every anonymous reader. Such a ``GET`` of a board
page or board API is answered from :func:`leaderboard.cache.fast_get` (one round trip;
the stored response is returned only while its board's version is unchanged) and, on a
miss, stored after the view made it (:func:`leaderboard.cache.fast_store`). Both carry a
strong ``ETag`` of the body and ``Cache-Control: no-cache``; a stored response whose ETag
the reader sends in ``If-None-Match`` is answered 304 Not Modified without its body
(Django's ``get_conditional_response``). Anyone else, and the private split, go through
the whole stack as before and get no validator from here: a reader who signs in sends a
cookie, so an ETag of the anonymous page never answers for a participant's page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response

from . import cache as board_cache

# URL names of the boards served this way (pages and API; not the CSV exports).
FAST_ROUTES = frozenset(
    {"leaderboard:task", "leaderboard:track", "api-task-leaderboard", "api-track-leaderboard"}
)


def _eligible(request: HttpRequest) -> bool:
    if request.method != "GET" or not board_cache.enabled():
        return False
    meta = request.META
    if meta.get("HTTP_COOKIE") or meta.get("HTTP_AUTHORIZATION"):
        return False  # a session, a CSRF cookie or credentials: the whole stack decides
    if request.GET.getlist("split") not in ([], ["public"]):
        return False  # the private split is decided per request, by the view
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    if match.view_name not in FAST_ROUTES:
        return False
    request.resolver_match = match
    return True


class BoardFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _eligible(request):
            return self.get_response(request)
        key = board_cache.fast_key(request)
        try:
            response = board_cache.fast_get(key)
        except board_cache.UNAVAILABLE:
            response = None  # Redis is away: the whole stack (and the database) answers
        if response is not None:
            return _conditional(request, response)
        response = self.get_response(request)
        note = getattr(request, "board_fast_note", None)
        if note is not None:
            with contextlib.suppress(*board_cache.UNAVAILABLE):
                board_cache.fast_store(key, note, response)  # with its validators
        return response


def _conditional(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """304 Not Modified when the reader's ``If-None-Match`` names the stored response's ETag
    (weak comparison, and ``*``, as RFC 9110 says for ``If-None-Match``), else
    ``response``."""
    if "HTTP_IF_NONE_MATCH" not in request.META or not response.has_header("ETag"):
        return response  # no validator: stored before they were
    return get_conditional_response(request, etag=response["ETag"], response=response)
