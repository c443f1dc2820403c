"""``?split=`` as the API answers and documents it: the rule is
:func:`challenges.split_access.reader_split`; here its refusal as a DRF exception
(``{"detail", "code"}`` with the rule's status) and the OpenAPI parameter and responses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from challenges.api.errors import error_responses
from challenges.models import Challenge
from challenges.split_access import (
    PRIVATE_HIDDEN,
    UNKNOWN_SPLIT,
    ReaderSplit,
    SplitRefusal,
    reader_split,
)
from common.splits import BOARD_SPLITS


class SplitRefused(APIException):
    """An API refusal of ``?split=``: ``{"detail": message, "code": code}`` with its status."""

    def __init__(self, refusal: SplitRefusal) -> None:
        super().__init__({"detail": refusal.message, "code": refusal.code})
        self.status_code = refusal.status


def api_split(request: Request, challenge: Challenge) -> ReaderSplit:
    """:func:`reader_split` for an API view; raises :class:`SplitRefused` (DRF answers it)."""
    decided = reader_split(
        asked=request.query_params.get("split"), challenge=challenge, user=request.user
    )
    if decided.refusal is not None:
        raise SplitRefused(decided.refusal)
    return decided



# What an API operation taking ``?split=`` documents (``extend_schema``).
SPLIT_PARAMETER = OpenApiParameter(
    "split",
    str,
    enum=list(BOARD_SPLITS),
    required=False,
    description="The split the board ranks: public (the default) or, once revealed, private.",
)


def split_refusal_responses() -> dict:
    """The documented refusals of ``?split=``, for ``extend_schema(responses=...)``."""
    return error_responses(
        {refusal.status: refusal.message for refusal in (UNKNOWN_SPLIT, PRIVATE_HIDDEN)}
    )
