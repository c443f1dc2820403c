"""Numbers that JSON can hold: NaN and infinity become ``None`` (JSON has neither;
PostgreSQL's jsonb refuses them)."""

from __future__ import annotations

import math
from typing import Any


def float_or_none(value: Any) -> float | None:
    """``value`` as a finite float, else ``None`` (NaN, infinity, not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def json_finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None``, recursively. Dict
    keys become strings."""
    if isinstance(value, dict):
        return {str(k): json_finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_finite(v) for v in value]
    if isinstance(value, float):
        return float_or_none(value)
    return value
