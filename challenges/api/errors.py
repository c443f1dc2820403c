"""The API's error bodies, documented once (OpenAPI components ``Error`` and ``BadRequest``).

Every refusal is JSON. Most read ``{"detail": "...", "code": "..."}`` (``code`` names the
rule, e.g. ``already_in_team``, ``daily_limit``; absent on generic errors such as a missing
login); a field-by-field validation failure reads ``{"<field>": ["...", ...]}``.
``AutoSchema`` documents on every operation the errors any of them can answer (400 for a
malformed query, 401 for a wrong token, 404 where the path names an object); views add
theirs with ``extend_schema(responses={..., **error_responses({409: "why"})})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.response import Response

from common.refusals import Refusal


def refusal_parts(exc: Refusal) -> tuple[dict[str, Any], dict[str, str]]:
    """A refusal's body and headers as the API answers it: ``{"detail", "code"}``; with
    ``retry_after`` (ISO) and ``Retry-After`` (seconds) when the request may succeed later.
    (For a response outside DRF too: the upload's admission middleware answers with it.)"""
    body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
    if exc.retry_after is None:
        return body, {}
    body["retry_after"] = exc.retry_after.isoformat()
    return body, {"Retry-After": str(exc.retry_seconds())}


def refusal_response(exc: Refusal) -> Response:
    """A refusal as the API answers it (:func:`refusal_parts`), at its status."""
    body, headers = refusal_parts(exc)
    return Response(body, status=exc.http_status, headers=headers or None)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")
    code = serializers.CharField(
        required=False, help_text="The rule that refused the request, when there is one."
    )


class FieldErrorsSerializer(serializers.Serializer):
    """``{"<field>": ["message", ...]}``; its schema comes from the extension below."""


class FieldErrorsExtension(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def get_name(self, auto_schema, direction) -> str:
        return "FieldErrors"

    def map_serializer(self, auto_schema, direction) -> dict:
        return {
            "type": "object",
            "description": "Field-by-field problems (`non_field_errors` for the whole body).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequest",
    serializers=[ErrorSerializer, FieldErrorsSerializer],
    resource_type_field_name=None,
)

COMMON_DESCRIPTIONS = {
    400: "The request is malformed: an invalid query parameter or body field, or a NUL "
    "character in the address.",
    401: "No valid credentials: a wrong or revoked token is refused on every operation "
    "(`token_revoked` when a change to the account revoked it: log in again).",
    404: "Nothing at this address: no such object, or one the caller may not see.",
    429: "Too many requests in a short time; see Retry-After.",
}


def error_response(status: int, description: str) -> OpenApiResponse:
    return OpenApiResponse(BAD_REQUEST if status == 400 else ErrorSerializer, description)


def error_responses(described: Mapping[int, str]) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse}`` for ``extend_schema(responses=...)``."""
    return {status: error_response(status, why) for status, why in described.items()}
