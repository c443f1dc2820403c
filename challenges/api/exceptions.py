"""The API's exception handler: DRF's, plus the rules gate's 403 (docs/architecture.md
§10) and a 503 when the database is unreachable."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from runtime.wsgi_retry import note_database_unavailable

from ..rules import RulesNotAccepted

logger = logging.getLogger(__name__)

DATABASE_RETRY_SECONDS = 5
DATABASE_UNAVAILABLE = (
    "The database is briefly unavailable, so this request did not complete; "
    "please try again in a few seconds."
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RulesNotAccepted):
        request = context.get("request")
        url = request.build_absolute_uri(exc.rules_path) if request is not None else None
        return Response(exc.as_json(url), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, OperationalError | InterfaceError):
        # A restart or failover of the database (multihost scenario): a temporary condition
        # the client may retry, not a server bug (500). An upload stored nothing (its
        # service removes the file when the row cannot be written).
        logger.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        note_database_unavailable()  # the WSGI layer may run the request again (wsgi_retry)
        set_rollback()
        return Response(
            {"detail": DATABASE_UNAVAILABLE, "code": "database_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        )
    return drf_exception_handler(exc, context)
