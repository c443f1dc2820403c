"""Input fields stricter than DRF's defaults, where the schema promises a JSON type."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true``/``false`` (or ``null`` where allowed) only: DRF's BooleanField also
    takes ``0``, ``"yes"`` or ``"off"``, which the OpenAPI schema's ``boolean`` does not."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")
        raise AssertionError  # fail() raises


class StrictFormBooleanField(StrictBooleanField):
    """:class:`StrictBooleanField` for an endpoint that only takes a form (a multipart file
    upload), where no JSON ``true`` can arrive: the field's text must be the word ``true``
    or ``false``, as JSON spells them. ``0``, ``1``, ``yes``, ``on``, ``True``, an empty
    value or the field given twice are refused; a field left out takes its default."""

    default_error_messages = {
        "invalid": 'Must be true or false (in a form: the word "true" or "false").',
    }
    WORDS = {"true": True, "false": False}

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            # DRF would take the last of repeated values and read "" as left out.
            return values[0] if len(values) == 1 else values
        if html.is_html_input(dictionary):
            return empty  # left out: the default (DRF's form rule would give False)
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, str) and data in self.WORDS:
            return self.WORDS[data]
        return super().to_internal_value(data)
