"""``?phase=<slug>`` on the task and track boards, their CSV and API: the reader's
:class:`leaderboard.boards.phase_read.BoardRead`, the refusal as a page (404) or the API
(404 ``{"code": "unknown_phase"}``) answers it, and the OpenAPI parameter
(docs/decisions/0066-phases.md)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException

from challenges.api.errors import error_responses
from challenges.models import Challenge
from challenges.phases import PhaseRefused
from leaderboard.boards.phase_read import BLIND_BOARD, PHASE_BOARD, BoardRead, board_read

PHASE_PARAMETER = OpenApiParameter(
    "phase",
    str,
    required=False,
    description="The slug of the phase whose board to read (GET challenges/<slug>/phases/ "
    "lists them): the default is the current phase, else the last that started. A blind "
    "phase's board has no entry for a participant before the reveal; an unknown slug "
    "answers 404 unknown_phase.",
)


class PhaseParameterRefused(APIException):
    """``?phase=`` naming no phase of the challenge: 404 ``{"detail", "code"}``."""

    def __init__(self, refused: PhaseRefused) -> None:
        super().__init__({"detail": refused.message, "code": refused.code})
        self.status_code = refused.http_status


def phase_refusal_responses() -> dict:
    """The documented refusal of ``?phase=``, for ``extend_schema(responses=...)``."""
    return error_responses({404: "unknown_phase: the challenge has no phase of that slug."})


def _asked(params: Any) -> str | None:
    asked = params.get("phase")
    return asked if asked else None


def page_board_read(*, request: HttpRequest, challenge: Challenge) -> BoardRead:
    """The read of a board page or CSV export; 404 with the refusal's message."""
    try:
        return board_read(challenge=challenge, slug=_asked(request.GET), user=request.user)
    except PhaseRefused as exc:
        raise Http404(exc.message) from exc


def api_board_read(*, request: Any, challenge: Challenge) -> BoardRead:
    """The read of a board's API answer; :class:`PhaseParameterRefused` (DRF answers it)."""
    try:
        return board_read(challenge=challenge, slug=_asked(request.query_params), user=request.user)
    except PhaseRefused as exc:
        raise PhaseParameterRefused(exc) from exc


def phase_context(*, read: BoardRead) -> dict[str, Any]:
    """What a board page shows of its phase: the selector (more than one phase), the
    phase read, and why a blind phase's board is empty for this reader."""
    return {
        "board_phases": list(read.phases) if len(read.phases) > 1 else [],
        "board_phase": read.phase,
        "phase_query": f"&phase={read.slug}" if read.phase is not None else "",
        "blind_note": BLIND_BOARD if read.hidden else None,
        "phase_note": None if read.maintained or read.hidden else PHASE_BOARD,
    }
