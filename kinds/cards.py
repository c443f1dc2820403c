"""Numbers on a dataset card: plain JSON floats (the card is stored as JSON)."""

from __future__ import annotations

import math
from typing import Any


def number(value: Any) -> float | None:
    """A plain float, or None for NaN / infinity / nothing (JSON has none of them)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
