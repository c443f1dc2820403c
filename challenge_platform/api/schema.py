"""OpenAPI schema generation tweaks."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their API view (STYLE: nested input/output serializers).

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
