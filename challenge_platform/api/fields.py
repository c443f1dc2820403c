"""Input fields stricter than DRF's defaults, where the schema promises a JSON type."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true``/``false`` (or ``null`` where allowed) only: DRF's BooleanField also
    takes ``0``, ``"yes"`` or ``"off"``, which the OpenAPI schema's ``boolean`` does not."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")
        raise AssertionError  # fail() raises
