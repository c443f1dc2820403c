"""The upload API's refusal is the API's one refusal shape (``challenges.api.errors``):
``{"detail", "code"}`` at its status, ``retry_after`` (ISO) with ``Retry-After`` (seconds)
when the request may succeed later. The upload's documented refusal (``SubmissionRefusal``)
also always holds ``retry_after``, null when waiting will not help: the one difference."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from challenges.api.errors import refusal_parts as api_refusal_parts
from challenges.api.errors import refusal_response
from scoring.admission import refusal_parts
from scoring.services.upload import SubmissionRefused


def test_a_rate_refusal_reads_as_every_api_refusal_does() -> None:
    when = timezone.now() + timedelta(hours=2)
    later = SubmissionRefused("daily_limit", "the daily limit is spent", 429, retry_after=when)
    body, headers = refusal_parts(exc=later)
    assert body == api_refusal_parts(later)[0] == refusal_response(later).data
    assert body == {
        "detail": "the daily limit is spent",
        "code": "daily_limit",
        "retry_after": when.isoformat(),
    }
    assert list(headers) == ["Retry-After"] and 7000 < int(headers["Retry-After"]) <= 7200


def test_any_other_refusal_adds_only_a_null_retry_after() -> None:
    now = SubmissionRefused("bad_format", "not a CSV", 400)
    body, headers = refusal_parts(exc=now)
    assert body == {**api_refusal_parts(now)[0], "retry_after": None}
    assert body == {"detail": "not a CSV", "code": "bad_format", "retry_after": None}
    assert headers == {}
