"""Site-wide security middleware: the Content-Security-Policy and rate limits on web forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .rules import RulesNotAccepted
from .security import content_security_policy, new_nonce, throttle_wait, too_many_requests


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
            message = "The address contains a NUL character (%00)."
            if request.path.startswith("/api/"):  # the API's error shape
                return JsonResponse({"detail": message, "code": "nul_character"}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send ``CONTENT_SECURITY_POLICY`` on every response, with a fresh nonce per request.

    Templates that need an inline ``<script>`` or ``<style>`` mark it with
    ``nonce="{{ request.csp_nonce }}"``; anything else inline (injected markup, ``style=``
    attributes, event handlers) is refused by the browser. Views named in
    ``CONTENT_SECURITY_POLICY_BY_VIEW`` get those directives instead (the API docs page lets
    Swagger UI, served from our own static files, style itself inline). A response that
    already carries a policy keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = new_nonce()
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            match = getattr(request, "resolver_match", None)
            response["Content-Security-Policy"] = policy_for_view(
                view_name=match.view_name if match else "", nonce=nonce
            )
        return response


def policy_for_view(*, view_name: str, nonce: str) -> str:
    """The ``Content-Security-Policy`` of a response made by ``view_name`` (the site's policy,
    with that view's directives from ``CONTENT_SECURITY_POLICY_BY_VIEW``) and ``nonce``. Also
    set by the boards' fast path (``leaderboard/cache/fastpath.py``), which answers in front of the
    middleware."""
    extra = settings.CONTENT_SECURITY_POLICY_BY_VIEW.get(view_name)
    return content_security_policy(
        directives=settings.CONTENT_SECURITY_POLICY, nonce=nonce, extra=extra
    )


class WebThrottleMiddleware:
    """Rate-limit the POSTs of the web views in ``WEB_THROTTLES`` (view name -> DRF scope).

    The login form and the submit form share their budget with the matching API endpoint;
    over the rate, the user gets a readable 429 page instead of the view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.method != "POST" or request.resolver_match is None:
            return None
        scope = settings.WEB_THROTTLES.get(request.resolver_match.view_name)
        if scope is None:
            return None
        wait = throttle_wait(request=request, scope=scope)
        if wait is None:
            return None
        return too_many_requests(request=request, scope=scope, wait=wait)


class RulesGateMiddleware:
    """Send a web request refused by the rules gate to the challenge's rules page.

    ``RulesNotAccepted`` comes from ``challenges.rules.rules_gate``, called by the
    services and download views; after accepting, the user comes back to the page (a GET) or
    to the challenge page (after a POST, whose form must be sent again). API views never get
    here: their exception handler answers 403 first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RulesNotAccepted):
            return None
        return rules_redirect(request=request, refusal=exception)


def rules_redirect(*, request: HttpRequest, refusal: RulesNotAccepted) -> HttpResponse:
    """To the rules page, coming back to this page (a GET) or to the challenge (a POST)."""
    slug = refusal.challenge.slug
    back = (
        request.get_full_path()
        if request.method == "GET"
        else reverse("challenge-detail", kwargs={"slug": slug})
    )
    return redirect(f"{refusal.rules_path}?{urlencode({'next': back})}")
