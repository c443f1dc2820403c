"""Pagination of the API's lists: DRF's limit/offset, with both numbers bounded."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` is capped at ``max_limit`` and ``?offset=`` at ``MAX_OFFSET``.

    Unbounded, a huge number reaches the database as a LIMIT/OFFSET it cannot represent
    (SQLite: "Python int too large to convert to SQLite INTEGER", PostgreSQL: bigint out of
    range) and the request fails with a 500 instead of a page.
    """

    max_limit = 1000
    MAX_OFFSET = 2**31 - 1

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), self.MAX_OFFSET)
