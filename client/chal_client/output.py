"""Plain-text tables and value formatting for ``chal``'s output."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

DASH = "—"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numeric columns aligned right.

    Floats print with four decimals (the site's precision), None as a dash. Every column
    needs a header: a reader cannot tell what an unnamed column means.
    """
    if any(not str(h).strip() for h in headers):
        raise ValueError(f"every column needs a header, got {list(headers)!r}")
    cells = [[_text(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    right = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _is_number(value: object) -> bool:
    if value is None or value == DASH:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return number(value)
    return str(value)


def number(value: object, digits: int = 4) -> str:
    """A score as the site prints it: ``digits`` decimals, a dash for none or NaN, and never
    a negative zero (``-0.0000`` is ``0.0000``: a value that rounds to zero has no sign)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return DASH
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def shown(value: object) -> str:
    """A ladder board's shown score with the decimals it has (it lies on a grid of 0.1, 0.01
    or 0.001: 0.71, never 0.7100), at least two, at most four (the bootstrap rule's mean)."""
    text = number(value)
    if text == DASH or "." not in text:
        return text
    whole, decimals = text.split(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


def interval(low: object, high: object) -> str:
    """``[0.7812, 0.8934]``, or empty when the interval is not computed (yet)."""
    if isinstance(low, int | float) and isinstance(high, int | float):
        return f"[{number(low)}, {number(high)}]"
    return ""


def when(value: object) -> str:
    """An API timestamp as ``2026-03-01 14:05`` in UTC (unparseable values pass through)."""
    if not isinstance(value, str) or not value:
        return DASH
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def shorten(text: object, width: int = 40) -> str:
    """One line of at most ``width`` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def utc_z(moment: datetime) -> str:
    """``2026-03-02T00:00:00Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def percent(value: object) -> str:
    """A rate as ``3.25%``, or a dash when there is none."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{number(value * 100, 2)}%"
    return DASH


def rank_interval(value: object) -> str:
    """``[lo, hi]`` as "lo-hi", or a dash (a board or snapshot without P(first) has none)."""
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]}-{value[1]}"
    return DASH


def first_columns(entry: dict) -> list[object]:
    """A track entry's P(first), 95% rank interval and group, as printed."""
    p_first = entry.get("p_first")
    return [
        DASH if p_first is None else number(p_first, 3),
        rank_interval(entry.get("rank_interval")),
        DASH if entry.get("group") is None else entry["group"],
    ]


FIRST_HEADERS = ["P(first)", "rank 95%", "group"]


def pairwise_table(board: dict) -> str:
    """A track board's pairwise comparisons (``chal leaderboard TRACK --pairwise``): one
    line per pair, the difference of track means, its interval and the verdict from the
    first team's side; the method, the equivalence margin and what the intervals claim
    about (tasks like these, or these tasks' rows) above."""
    pairs = board.get("pairwise") or []
    margin = board.get("equivalence_margin")
    head = (
        f"Pairwise comparisons ({board.get('group_method') or 'unknown method'}; "
        f"equivalent within ±{margin if margin is not None else DASH}):"
    )
    lines = [head]
    if board.get("pairwise_note"):
        lines.append(f"How: {board['pairwise_note']}.")
    if board.get("group_reason"):
        lines.append(f"No intervals: {board['group_reason']}.")
    if not pairs:
        lines.append("No two ranked teams to compare.")
        return "\n".join(lines)
    ci = [p.get("ci") or [None, None] for p in pairs]
    lines.append(
        table(
            ["team", "against", "difference", "interval", "verdict"],
            [
                [p["a"], p["b"], p["difference"], interval(lo, hi) or DASH, p["verdict"]]
                for p, (lo, hi) in zip(pairs, ci, strict=True)
            ],
        )
    )
    shown = board.get("pairwise_teams")
    ranked = sum(1 for e in board.get("entries") or [] if e.get("rank") is not None)
    if isinstance(shown, int) and shown < ranked:
        lines.append(f"(every pair of the best {shown} of {ranked} ranked teams)")
    return "\n".join(lines)


# Printed under a table with an OPIS column: OPIS is threshold consistency, not quality.
OPIS_NOTE = (
    "OPIS: threshold consistency (how far each group's F1 against the threshold strays from"
    " all rows'), lower is more consistent; not a measure of quality: a constant predictor is"
    " perfectly consistent."
)
