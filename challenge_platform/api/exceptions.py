"""The API's exception handler: DRF's, plus the rules gate's 403 (DESIGN §10)."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..rules import RulesNotAccepted


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RulesNotAccepted):
        request = context.get("request")
        url = request.build_absolute_uri(exc.rules_path) if request is not None else None
        return Response(exc.as_json(url), status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)
