"""The boards' fast path inside Django (``leaderboard/fastpath.py``): the first middleware.

It keeps a board's response made for an anonymous read (no cookie, no credentials) for the
fast path, after every other middleware added its headers (:func:`leaderboard.fastpath
.store`), and answers such a read from the stored response when the WSGI wrapper in front
of Django (``BoardFastPathApp``) did not: Django's test client, a server run without it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import fastpath


class BoardFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = fastpath.answer(request.META)
        if found is not None:
            return fastpath.as_response(found)
        response = self.get_response(request)
        fastpath.store(request, response)  # with its validators, if a board view noted it
        return response
