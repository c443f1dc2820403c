"""Rates as settings write them: ``60/minute`` (also ``60/min``, ``60/m``; ``s``, ``h``, ``d``).

Pure (no Django), so the settings module parses its values at start and a malformed one
stops the process there, not at the first request that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_PERIODS = {"s": (1, "second"), "m": (60, "minute"), "h": (3600, "hour"), "d": (86400, "day")}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int
    period: str  # "minute"

    def __str__(self) -> str:
        return f"{self.count} per {self.period}"


def parse_rate(text: str | None) -> Rate | None:
    """``"60/minute"`` as a :class:`Rate`; ``"0"``, ``"0/minute"`` or empty: None (no limit).
    Raises ValueError for anything else."""
    text = (text or "").strip().lower()
    if text in ("", "0"):
        return None
    count, slash, unit = text.partition("/")
    count, unit = count.strip(), unit.strip()
    if not slash or not count.isdigit() or unit[:1] not in _PERIODS:
        raise ValueError(f"a rate reads like 60/minute, not {text!r}")
    seconds, period = _PERIODS[unit[0]]
    return Rate(count=int(count), seconds=seconds, period=period) if int(count) else None


def next_utc_midnight(*, at: datetime) -> datetime:
    """When the UTC day of ``at`` ends: where every daily limit resets."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)
