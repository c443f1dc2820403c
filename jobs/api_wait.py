"""A job's status read that may wait for the status to change: the API's long-poll
(docs/decisions/0057-a-status-wait-is-a-held-answer.md).

``GET submissions/<id>/`` and ``GET algorithm-runs/<id>/`` answer as always; with ``?wait=N``
(seconds, at most ``API_WAIT_MAX_SECONDS``) the answer is held while the job's status is the
one the client has:

- with ``If-None-Match`` naming the status's tag (the ``ETag`` of an earlier answer): until
  the status changes, then 200 with the new state; ``304 Not Modified`` when ``N`` seconds
  pass first (the status is still that one);
- without: until the job is final (a submission scored or failed; a run final and its
  submission, if any, too), or ``N`` seconds, then 200 with the state as it is.

Every answer carries the tag as a weak ``ETag`` (the status, not every byte of the body), and
a plain ``If-None-Match`` naming it answers 304 at once. A process holds at most
``API_WAIT_MAX_WAITERS`` waits at once, of which at most ``API_WAIT_MAX_WAITERS_PER_TEAM`` for
one team and ``API_WAIT_MAX_WAITERS_PER_PERSON`` for one person
(:func:`jobs.changes.waiting_slot`); past it the read answers at once with ``Retry-After: 1``,
which a client honours before asking again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .changes import JobState, wait_while, waiting_slot

WAIT_HELP = (
    "Hold the answer up to this many seconds (at most API_WAIT_MAX_SECONDS, 60 by default) "
    "while the status is the one named by If-None-Match (then 304 if it did not change), or, "
    "without If-None-Match, until the job is final."
)

WAIT_PARAMETER = OpenApiParameter(
    "wait", OpenApiTypes.NUMBER, OpenApiParameter.QUERY, required=False, description=WAIT_HELP
)


def wait_seconds(*, request: Request) -> float:
    """The ``wait`` query parameter (0 when absent), capped at ``API_WAIT_MAX_SECONDS``; a
    value that is not a number from 0 up is refused with 400."""
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValidationError({"wait": [f"a number of seconds from 0 to {_max_wait():g}"]})
    return min(value, _max_wait())


def _max_wait() -> float:
    return float(settings.API_WAIT_MAX_SECONDS)


def _named(tag: str, etags: Iterable[str]) -> bool:
    """Whether ``If-None-Match``'s ``etags`` name ``tag`` (weak comparison, or ``*``)."""
    bare = tag.removeprefix("W/")
    return any(e == "*" or e.removeprefix("W/") == bare for e in etags)


def _with_keys(current: JobState) -> tuple[JobState, tuple[str, ...]]:
    return current, current.keys


def wait_holders(*, request: Request, team_pk: int | None) -> dict[str, int]:
    """Who a held wait is for, each with the most places it may hold in one process: the
    person asking and the job's team (:func:`jobs.changes.waiting_slot`)."""
    holders = {f"user:{request.user.pk}": settings.API_WAIT_MAX_WAITERS_PER_PERSON}
    if team_pk is not None:
        holders[f"team:{team_pk}"] = settings.API_WAIT_MAX_WAITERS_PER_TEAM
    return holders


def job_status_answer(
    *, request: Request,
    state: Callable[[], JobState],
    answer: Callable[[], Response],
    team_pk: int | None = None,
) -> Response:
    """The job's answer (``answer()``, read after any wait) with its status's ``ETag``, held
    as the module says while ``state()`` is what the client has; ``team_pk``: the job's
    team, whose held waits are capped together."""
    seconds = wait_seconds(request=request)
    etags = parse_etags(request.headers.get("If-None-Match", ""))

    def unchanged(current: JobState) -> bool:
        return _named(current.tag, etags) if etags else not current.final

    retry_after = None
    current = None
    if seconds > 0:
        with waiting_slot(holders=wait_holders(request=request, team_pk=team_pk)) as took:
            if took:
                current = wait_while(
                    state=lambda: _with_keys(state()), unchanged=unchanged, seconds=seconds
                )
            else:
                retry_after = "1"
    if current is None:
        current = state()
    if etags and _named(current.tag, etags):
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    else:
        response = answer()
    response["ETag"] = current.tag
    if retry_after is not None:
        response["Retry-After"] = retry_after
    return response
