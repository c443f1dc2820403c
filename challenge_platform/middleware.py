"""Site-wide security middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class RejectNulCharactersMiddleware:
    """Answer 400 to a path or query string holding a NUL character (``%00``).

    PostgreSQL refuses NUL in text, so such a value reaching a query (``?task=%00``,
    ``/join/%00/``) raised an error and a 500 instead of "no such thing". Form fields are
    covered by Django's and DRF's own NUL validators.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(
                "The address contains a NUL character (%00).", content_type="text/plain"
            )
        return self.get_response(request)
