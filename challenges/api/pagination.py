"""Pagination of the API's lists: DRF's limit/offset, strict and with both numbers bounded."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` (1 or more, capped at ``max_limit``) and ``?offset=`` (0 or more, capped
    at ``MAX_OFFSET``).

    A value that is not such an integer is a 400, as the schema says, instead of being
    silently replaced by the default. Unbounded, a huge number would reach the database as
    a LIMIT/OFFSET it cannot represent (SQLite: "Python int too large to convert to SQLite
    INTEGER", PostgreSQL: bigint out of range) and fail with a 500 instead of a page.
    """

    max_limit = 1000
    MAX_OFFSET = 2**31 - 1

    def _number(self, request, name: str, *, minimum: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        if not raw.isascii() or not raw.isdigit() or int(raw) < minimum:
            raise ValidationError({name: [f"Must be an integer of at least {minimum}."]})
        return int(raw)

    def get_limit(self, request) -> int:
        limit = self._number(request, self.limit_query_param, minimum=1)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        offset = self._number(request, self.offset_query_param, minimum=0)
        return 0 if offset is None else min(offset, self.MAX_OFFSET)

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Items per page (at most {self.max_limit})."
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"]["minimum"] = 0
        return parameters
