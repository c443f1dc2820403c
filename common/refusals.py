"""The one error a participant sees, and helpers to word it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

MAX_EXAMPLES = 5
_MAX_VALUE_CHARS = 40


class SubmissionInvalid(Exception):
    """A submission the platform refuses; ``message`` is written for the participant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refusal(Exception):
    """A request the platform refuses before anything changed: ``code`` names the rule,
    ``message`` is for the person who asked, ``http_status`` is how an API answers, and
    ``retry_after`` when the same request may succeed later (a rate). Each app's refusal
    derives from it (an upload's, an algorithm's, the upload budget's)."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int = 400,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after

    def retry_seconds(self) -> int | None:
        """``Retry-After``'s whole seconds until ``retry_after`` (0 once past; None when the
        request will not succeed later): the one rule of every answer that carries it."""
        if self.retry_after is None:
            return None
        return max(math.ceil((self.retry_after - datetime.now(UTC)).total_seconds()), 0)


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(3, "row")`` -> ``"3 rows"``, with thousands separators."""
    word = singular if n == 1 else (plural or singular + "s")
    return f"{n:,} {word}"


def show(value: object) -> str:
    """One value as a participant should see it: strings quoted, long ones shortened."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
        value = value[: _MAX_VALUE_CHARS - 3] + "..."
    return repr(value)


def examples(values: Iterable[object], limit: int = MAX_EXAMPLES) -> str:
    """Up to ``limit`` values, shown and comma-separated."""
    shown = []
    for value in values:
        if len(shown) == limit:
            break
        shown.append(show(value))
    return ", ".join(shown)


def has(n: int, noun: str) -> str:
    """``has(1, "row")`` -> ``"1 row has"``; ``has(2, "row")`` -> ``"2 rows have"``."""
    return f"{count(n, noun)} {'has' if n == 1 else 'have'}"
