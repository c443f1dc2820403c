"""OpenAPI schema generation tweaks."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers

from .errors import COMMON_DESCRIPTIONS, error_response


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their API view (docs/architecture.md, House style:
    nested input/output serializers).

    ``SubmissionCreateApi.OutputSerializer`` becomes component ``SubmissionCreateOutput``,
    so the many ``OutputSerializer`` classes don't collide in the schema.
    """

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        target = (
            serializer.child if isinstance(serializer, serializers.ListSerializer) else serializer
        )
        qualname = type(target).__qualname__
        if "." in qualname:
            outer = qualname.split(".")[0].removesuffix("Api")
            if not name.startswith(outer):
                name = outer + name
        return name

    def _get_response_bodies(self, direction="response"):
        """The view's documented answers, plus the errors any operation can answer: 400
        (a malformed query), 401 (a wrong token), 404 when the path names an object and 429 when
        the view is rate-limited."""
        responses = super()._get_response_bodies(direction)
        common = [400, 401] + ([404] if "{" in self.path else [])
        if getattr(self.view, "throttle_classes", ()):  # rate-limited: 429 with Retry-After
            common.append(429)
        for status in common:
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_response(status, COMMON_DESCRIPTIONS[status]), str(status)
                )
        # An error documented by its description only gets the body it really has.
        for status, response in list(responses.items()):
            if status.startswith("4") and status != "416" and "content" not in response:
                description = response.get("description") or COMMON_DESCRIPTIONS.get(
                    int(status), "Refused."
                )
                responses[status] = self._get_response_for_code(
                    error_response(int(status), description), status
                )
        return dict(sorted(responses.items()))


NO_NUL = "^[^\\x00]*$"


def document_nul_refusal(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: say in the schema that text never holds NUL.

    The API refuses a NUL character in the address (challenges.middleware) and in
    body fields (DRF's CharField) with 400; each free-text query parameter and request field
    gets ``pattern: ^[^\\x00]*$`` so the schema describes what is really accepted.
    """

    def mark(schema: dict) -> None:
        if schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema):
            schema["pattern"] = NO_NUL

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    mark(parameter.get("schema", {}))
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            for prop in component.get("properties", {}).values():
                mark(prop)
    return result


class KnoxTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>`` (docs/architecture.md §7), checked by
    django-rest-knox against stored digests (``challenges.api.authentication``): documented
    as before (``tokenAuth``), over drf-spectacular's own knox scheme."""

    target_class = "challenges.api.authentication.TokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
