"""Web-side hardening shared by the middleware: rate limits and the Content-Security-Policy.

Rate limits reuse DRF's scoped throttles, so a web form and its API twin share one budget
per client: ``login`` (the login form and ``POST /api/v1/auth/token/``, per IP address). The
rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``; the client address comes from DRF's
``NUM_PROXIES`` rule, so a forged ``X-Forwarded-For`` cannot buy a fresh budget. Uploads
have a budget per team instead, on every path (``challenges.upload_budget``).
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from rest_framework import throttling

from runtime.localredis import cache_unavailable_errors

logger = logging.getLogger(__name__)

NONCE_SOURCE = "'nonce'"  # placeholder in CONTENT_SECURITY_POLICY, replaced per response

SCOPE_MESSAGES = {
    "login": "Too many login attempts from your address.",
}


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle, letting the request through when the cache cannot be reached.

    The counters live in the cache (Redis, shared with the broker). A rate limit guards
    against abuse; it is not worth refusing every upload and login with a 500 while Redis is
    unreachable (the database stays the source of truth, docs/architecture.md §5; the
    daily limit is counted there). The outage is logged; the limit holds again as soon as Redis
    answers.
    """

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except cache_unavailable_errors():
            logger.warning(
                "the %s rate limit is not counted: the cache is unavailable",
                getattr(view, "throttle_scope", "?"),
                exc_info=True,
            )
            self.history = []  # wait() must not use a half-read history
            return True


def throttle_wait(*, request: HttpRequest, scope: str) -> float | None:
    """Count this request against ``scope``; the seconds to wait when over the rate, else None.

    The same cache keys as DRF's ``ScopedRateThrottle`` with ``throttle_scope = scope``.
    """
    throttle = ScopedRateThrottle()
    view = SimpleNamespace(throttle_scope=scope)
    if throttle.allow_request(request, view):
        return None
    wait = throttle.wait()
    return max(float(wait if wait is not None else 60), 1.0)


def too_many_requests(*, request: HttpRequest, scope: str, wait: float) -> HttpResponse:
    """A friendly 429 page with ``Retry-After``."""
    seconds = math.ceil(wait)
    body = render_to_string(
        "429.html",
        {"reason": SCOPE_MESSAGES.get(scope, "Too many requests."), "seconds": seconds},
        request=request,
    )
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(seconds)
    return response


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(
    *, directives: Mapping[str, Sequence[str]],
    nonce: str,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The header value: ``directives`` with ``'nonce'`` replaced by ``'nonce-<nonce>'``.

    ``extra`` replaces whole directives (a page that needs another source, e.g. the API docs).
    """
    merged = {**directives, **(extra or {})}
    parts = []
    for name, sources in merged.items():
        values = [f"'nonce-{nonce}'" if s == NONCE_SOURCE else s for s in sources]
        parts.append(" ".join([name, *values]))
    return "; ".join(parts)
