"""Small standalone SVG charts, built as strings (no plotting library).

Every chart is one ``<svg>`` element with ``role="img"``, an ``aria-label`` and a ``<title>``
(and a ``<desc>``), so it can be inlined in a page or served as ``image/svg+xml``. All text
(team names and class names are user input) goes through `_text`: characters XML 1.0
forbids are dropped and the rest is escaped with ``html.escape``, so the output is always
well-formed XML and never carries markup from its input.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import NamedTuple

import numpy as np

FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
BASELINE_COLOR = "#6b6b6b"
AXIS_COLOR = "#444444"
GRID_COLOR = "#e3e3e3"
LEGEND_WIDTH = 170
LEGEND_NAME_CHARS = 22

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Series(NamedTuple):
    """One team's scored submissions over time."""

    name: str
    is_baseline: bool
    points: Sequence[tuple[datetime, float]]


def xml_text(value: object) -> str:
    """Text safe for XML content and attribute values."""
    return html.escape(_XML_INVALID.sub("", str(value)), quote=True)


def coordinate(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_text, _num = xml_text, coordinate


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _open(width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(title)}" '
        f'{FONT} font-size="11">',
        f"<title>{_text(title)}</title>",
        f"<desc>{_text(desc)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="18" font-size="13" font-weight="600" fill="#222222">{_text(title)}</text>',
    ]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("tick range must be finite")
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.05 or 0.05
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    n = round((last - first) / step)
    return [round(first + i * step, 12) for i in range(n + 1)]


_TIME_STEPS = (
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
    91 * 86400,
    182 * 86400,
    365 * 86400,
)


def _time_ticks(start: float, end: float, count: int = 5) -> tuple[list[float], int]:
    """Tick timestamps at a round step (aligned to the step in UTC) and that step."""
    span = max(end - start, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    while span / step > count:
        step *= 2
    first = math.ceil(start / step) * step
    ticks = [float(t) for t in range(int(first), int(end) + 1, step)]
    return ticks, step


def _time_label(ts: float, step: int, tz: tzinfo | None) -> str:
    moment = datetime.fromtimestamp(ts, tz=tz)
    if step >= 365 * 86400:
        return moment.strftime("%Y")
    if step >= 30 * 86400:
        return moment.strftime("%b %Y")
    if step >= 86400:
        return moment.strftime("%b %d")
    return moment.strftime("%b %d %H:%M")


def _best_so_far(
    points: Sequence[tuple[datetime, float]], higher_is_better: bool = True
) -> list[tuple[datetime, float]]:
    """The points where the running best (maximum, or minimum when lower is better)
    improves, in time order (NaN ignored)."""
    steps: list[tuple[datetime, float]] = []
    for at, value in sorted(
        (p for p in points if p[1] is not None and math.isfinite(p[1])), key=lambda p: p[0]
    ):
        if not steps or (value > steps[-1][1] if higher_is_better else value < steps[-1][1]):
            steps.append((at, float(value)))
    return steps


def history_chart_svg(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    width: int = 720,
    height: int = 320,
    higher_is_better: bool = True,
) -> str:
    """A step line of each team's best score so far over time; baselines dashed; legend.

    Each line starts at the team's first scored submission and runs to the latest
    submission of any team. Datetimes must all be aware or all naive. "Best" follows
    ``higher_is_better``; the y axis says which way is better.
    """
    lines = [(s, _best_so_far(s.points, higher_is_better)) for s in series]
    lines = [(s, steps) for s, steps in lines if steps]
    desc = (
        f"Best {y_label} so far over time for {len(lines)} team"
        f"{'' if len(lines) == 1 else 's'}; baselines dashed."
    )
    out = _open(width, height, title, desc)

    left, top, bottom = 58, 32, 42
    right = LEGEND_WIDTH + 12 if lines else 16
    x0, x1, y0, y1 = left, max(left + 40, width - right), top, max(top + 40, height - bottom)

    if not lines:
        out.append(
            f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" '
            f'stroke="{AXIS_COLOR}"/>'
        )
        out.append(
            f'<text x="{_num((x0 + x1) / 2)}" y="{_num((y0 + y1) / 2)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">No scored submissions yet</text>'
        )
        out.append("</svg>")
        return "\n".join(out)

    tz = lines[0][1][0][0].tzinfo
    times = [at.timestamp() for _, steps in lines for at, _ in steps]
    values = [v for _, steps in lines for _, v in steps]
    t_min, t_max = min(times), max(times)
    if t_max - t_min < 60:
        t_min, t_max = t_min - 1800, t_max + 1800
    y_ticks = nice_ticks(min(values), max(values))
    v_min, v_max = y_ticks[0], y_ticks[-1]

    def px(ts: float) -> float:
        return x0 + (ts - t_min) / (t_max - t_min) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - v_min) / (v_max - v_min) * (y1 - y0)

    # Grid, axes and ticks.
    for v in y_ticks:
        y = _num(py(v))
        out.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{GRID_COLOR}"/>')
        out.append(
            f'<text x="{x0 - 6}" y="{y}" dy="0.32em" text-anchor="end" fill="{AXIS_COLOR}">'
            f"{_text(f'{v:g}')}</text>"
        )
    x_ticks, step = _time_ticks(t_min, t_max)
    for ts in x_ticks:
        x = _num(px(ts))
        out.append(f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y1 + 4}" stroke="{AXIS_COLOR}"/>')
        out.append(
            f'<text x="{x}" y="{y1 + 16}" text-anchor="middle" fill="{AXIS_COLOR}">'
            f"{_text(_time_label(ts, step, tz))}</text>"
        )
    out.append(
        f'<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="{AXIS_COLOR}" '
        f'shape-rendering="crispEdges"/>'
    )
    out.append(
        f'<text transform="translate(14 {_num((y0 + y1) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{_text(y_label)}</text>'
    )
    out.append(
        f'<text x="8" y="{height - 8}" font-size="10" fill="{AXIS_COLOR}" data-role="direction">'
        f"{'higher' if higher_is_better else 'lower'} is better</text>"
    )

    # One step line per team.
    colors: list[str] = []
    color_index = 0
    for s, steps in lines:
        if s.is_baseline:
            color = BASELINE_COLOR
        else:
            color = PALETTE[color_index % len(PALETTE)]
            color_index += 1
        colors.append(color)
        first_at, first_value = steps[0]
        d = [f"M{_num(px(first_at.timestamp()))} {_num(py(first_value))}"]
        for at, value in steps[1:]:
            d.append(f"H{_num(px(at.timestamp()))}V{_num(py(value))}")
        d.append(f"H{_num(px(t_max))}")
        dash = ' stroke-dasharray="6 4"' if s.is_baseline else ""
        out.append(
            f'<g><title>{_text(s.name)}</title><path d="{"".join(d)}" fill="none" '
            f'stroke="{color}" stroke-width="2"{dash}/>'
        )
        for at, value in steps:
            label = f"{s.name}: {value:.4g} ({at.isoformat(sep=' ', timespec='minutes')})"
            out.append(
                f'<circle cx="{_num(px(at.timestamp()))}" cy="{_num(py(value))}" r="2.5" '
                f'fill="{color}"><title>{_text(label)}</title></circle>'
            )
        out.append("</g>")

    # Legend, as many rows as fit; the rest summarized.
    lx, row_height = x1 + 14, 16
    capacity = max(1, (y1 - y0) // row_height)
    shown = lines if len(lines) <= capacity else lines[: capacity - 1]
    for i, (s, _) in enumerate(shown):
        y = y0 + 6 + i * row_height
        dash = ' stroke-dasharray="6 4"' if s.is_baseline else ""
        name = _shorten(s.name, LEGEND_NAME_CHARS) + (" (baseline)" if s.is_baseline else "")
        out.append(
            f'<line x1="{lx}" y1="{y}" x2="{lx + 18}" y2="{y}" stroke="{colors[i]}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(
            f'<text x="{lx + 24}" y="{y}" dy="0.32em" fill="#222222">{_text(name)}'
            f"<title>{_text(s.name)}</title></text>"
        )
    if len(shown) < len(lines):
        y = y0 + 6 + len(shown) * row_height
        out.append(
            f'<text x="{lx + 24}" y="{y}" dy="0.32em" fill="{AXIS_COLOR}">'
            f"+{len(lines) - len(shown)} more</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def pr_curve_svg(
    points: Sequence[tuple[float, float]],
    *,
    title: str = "Precision-recall curve",
    average_precision: float | None = None,
    width: int = 360,
    height: int = 320,
) -> str:
    """Precision (y) against recall (x), both on [0, 1]; ``points`` are (recall, precision).

    Points are drawn in the order given (e.g. as ``precision_recall_curve`` returns them).
    """
    desc = f"Precision against recall at {len(points)} thresholds."
    if average_precision is not None:
        desc += f" Average precision {average_precision:.4f}."
    out = _open(width, height, title, desc)
    x0, x1, y0, y1 = 50, width - 14, 32, height - 40

    def px(r: float) -> float:
        return x0 + r * (x1 - x0)

    def py(p: float) -> float:
        return y1 - p * (y1 - y0)

    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        x, y = _num(px(tick)), _num(py(tick))
        out.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{GRID_COLOR}"/>')
        out.append(
            f'<text x="{x0 - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{tick:g}</text>'
        )
        out.append(
            f'<text x="{x}" y="{y1 + 15}" text-anchor="middle" fill="{AXIS_COLOR}">{tick:g}</text>'
        )
    out.append(
        f'<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="{AXIS_COLOR}" '
        f'shape-rendering="crispEdges"/>'
    )
    out.append(
        f'<text x="{_num((x0 + x1) / 2)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">Recall</text>'
    )
    out.append(
        f'<text transform="translate(14 {_num((y0 + y1) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">Precision</text>'
    )
    finite = [(float(r), float(p)) for r, p in points if math.isfinite(r) and math.isfinite(p)]
    if finite:
        coords = " ".join(
            f"{_num(px(min(max(r, 0.0), 1.0)))},{_num(py(min(max(p, 0.0), 1.0)))}"
            for r, p in finite
        )
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
    else:
        out.append(
            f'<text x="{_num((x0 + x1) / 2)}" y="{_num((y0 + y1) / 2)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">No curve</text>'
        )
    if average_precision is not None:
        out.append(
            f'<text x="{x1 - 4}" y="{y0 + 14}" text-anchor="end" fill="#222222">'
            f"AP = {average_precision:.3f}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def utility_curves_svg(
    *,
    pooled: Sequence[float] | np.ndarray,
    groups: Sequence[tuple[str, Sequence[float] | np.ndarray]],
    calibration: tuple[float, float],
    title: str = "F1 against the threshold, by group",
    width: int = 560,
    height: int = 300,
) -> str:
    """F1 (y) against the threshold (x, evenly spaced on [0, 1]): the pooled curve (black)
    and one curve per group, with the calibration range ``[lo, hi]`` shaded.

    ``pooled`` and every group's values have one point per threshold ``k / (len - 1)``.
    """
    pooled_f1 = np.asarray(pooled, dtype=np.float64)
    if pooled_f1.ndim != 1 or pooled_f1.size < 2:
        raise ValueError("pooled needs at least two points")
    for _name, values in groups:
        if np.shape(values) != pooled_f1.shape:
            raise ValueError("every group needs one value per threshold, as pooled")
    lo, hi = (min(max(float(v), 0.0), 1.0) for v in calibration)
    desc = (
        f"F1 of all rows pooled and of {len(groups)} groups at {pooled_f1.size} thresholds "
        f"between 0 and 1; the calibration range {lo:g} to {hi:g} is shaded."
    )
    out = _open(width, height, title, desc)
    x0, x1, y0, y1 = 50, width - LEGEND_WIDTH - 12, 32, height - 40
    step = 1.0 / (pooled_f1.size - 1)

    def px(t: float) -> str:
        return _num(x0 + t * (x1 - x0))

    def py(v: float) -> str:
        return _num(y1 - min(max(v, 0.0), 1.0) * (y1 - y0))

    out.append(
        f'<rect data-role="calibration-range" x="{px(lo)}" y="{y0}" '
        f'width="{_num((hi - lo) * (x1 - x0))}" height="{y1 - y0}" fill="#f7f0d6">'
        f"<title>Calibration range {lo:g} to {hi:g}</title></rect>"
    )
    out.extend(unit_axes(x0=x0, x1=x1, y0=y0, y1=y1, px=px, py=py))
    out.append(
        f'<text x="{_num((x0 + x1) / 2)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">Threshold</text>'
    )
    out.append(
        f'<text transform="translate(14 {_num((y0 + y1) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">F1</text>'
    )

    def polyline(values: np.ndarray, color: str, stroke: int, name: str, role: str) -> str:
        keep = np.isfinite(values)
        points = " ".join(f"{px(k * step)},{py(float(v))}" for k, v in enumerate(values) if keep[k])
        return (
            f'<polyline data-role="{role}" points="{points}" fill="none" stroke="{color}" '
            f'stroke-width="{stroke}"><title>{_text(name)}</title></polyline>'
        )

    series = [("All rows pooled", pooled_f1, "#000000", 3, "pooled-curve")]
    for i, (name, values) in enumerate(groups):
        color = PALETTE[i % (len(PALETTE) - 1)]  # black is the pool's
        series.append((name, np.asarray(values, dtype=np.float64), color, 2, "group-curve"))
    for name, values, color, stroke, role in reversed(series):  # the pool drawn last, on top
        out.append(polyline(values, color, stroke, name, role))
    lx = x1 + 16
    for i, (name, _values, color, stroke, _role) in enumerate(series):
        ly = y0 + 8 + i * 18
        out.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 20}" y2="{ly}" stroke="{color}" '
            f'stroke-width="{stroke}"/>'
        )
        out.append(
            f'<text x="{lx + 26}" y="{ly}" dy="0.32em" fill="#222222">'
            f"{_text(_shorten(str(name), LEGEND_NAME_CHARS))}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def confusion_matrix_svg(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    classes: Sequence[str],
    *,
    title: str = "Confusion matrix",
    max_size: int = 480,
) -> str:
    """A heat map: rows are true classes, columns predicted; shade = share of the true row.

    Counts are printed in cells at least 26 px wide; every cell has a tooltip.
    """
    counts = np.asarray(matrix)
    k = len(classes)
    if counts.shape != (k, k):
        raise ValueError(f"matrix has shape {counts.shape}, expected ({k}, {k})")
    if k == 0:
        raise ValueError("at least one class is needed")
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)

    names = [_shorten(str(c), 14) for c in classes]
    label_width = 12 + 6.5 * max(len(n) for n in names)
    cell = max(12, min(48, int((max_size - label_width) // k)))
    left = 28 + label_width
    top = 40
    grid = cell * k
    width = int(left + grid + 16)
    height = int(top + grid + 0.75 * label_width + 34)  # room for the 45-degree labels

    out = _open(
        width,
        height,
        title,
        f"Confusion matrix over {k} classes; rows are true classes, columns predicted.",
    )
    for i in range(k):
        for j in range(k):
            x, y = left + j * cell, top + i * cell
            share = float(shares[i, j])
            tip = (
                f"true {classes[i]}, predicted {classes[j]}: {int(counts[i, j])} "
                f"({share:.1%} of true {classes[i]})"
            )
            out.append(
                f'<g><title>{_text(tip)}</title><rect x="{_num(x)}" y="{_num(y)}" '
                f'width="{cell}" height="{cell}" fill="{PALETTE[0]}" '
                f'fill-opacity="{_num(0.04 + 0.96 * share)}" stroke="#ffffff"/>'
            )
            if cell >= 26:
                color = "#ffffff" if share > 0.5 else "#222222"
                out.append(
                    f'<text x="{_num(x + cell / 2)}" y="{_num(y + cell / 2)}" dy="0.32em" '
                    f'text-anchor="middle" fill="{color}">{int(counts[i, j])}</text>'
                )
            out.append("</g>")
    for i, name in enumerate(names):
        y = top + i * cell + cell / 2
        out.append(
            f'<text x="{_num(left - 6)}" y="{_num(y)}" dy="0.32em" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{_text(name)}</text>'
        )
        x = left + i * cell + cell / 2
        out.append(
            f'<text transform="translate({_num(x)} {_num(top + grid + 6)}) rotate(-45)" '
            f'text-anchor="end" dy="0.32em" fill="{AXIS_COLOR}">{_text(name)}</text>'
        )
    out.append(
        f'<text x="{_num(left + grid / 2)}" y="{height - 6}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">Predicted</text>'
    )
    out.append(
        f'<text transform="translate(12 {_num(top + grid / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">True</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


__all__ = [
    "Series",
    "confusion_matrix_svg",
    "history_chart_svg",
    "nice_ticks",
    "pr_curve_svg",
]


def bar_chart_svg(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    y_label: str,
    width: int = 720,
    height: int = 240,
) -> str:
    """Vertical bars (e.g. submissions per day), one per ``(label, value)``, with a y grid;
    every fifth label is written when there are many bars."""
    total = sum(v for _, v in bars)
    out = _open(width, height, title, f"{y_label} for {len(bars)} bars, {total:g} in all.")
    left, top, bottom, right = 48, 32, 36, 12
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    ticks = nice_ticks(0.0, max([v for _, v in bars] + [1.0]), 4)
    high = ticks[-1] or 1.0
    for tick in ticks:
        y = y1 - (tick / high) * (y1 - y0)
        out.append(
            f'<line x1="{x0}" y1="{_num(y)}" x2="{x1}" y2="{_num(y)}" stroke="{GRID_COLOR}"/>'
        )
        out.append(
            f'<text x="{x0 - 6}" y="{_num(y + 4)}" text-anchor="end" fill="{AXIS_COLOR}">'
            f"{_text(f'{tick:g}')}</text>"
        )
    step = (x1 - x0) / max(len(bars), 1)
    every = 1 if len(bars) <= 10 else 5
    for i, (label, value) in enumerate(bars):
        h = (value / high) * (y1 - y0)
        x = x0 + i * step + step * 0.15
        out.append(
            f'<rect x="{_num(x)}" y="{_num(y1 - h)}" width="{_num(step * 0.7)}" '
            f'height="{_num(h)}" fill="{PALETTE[0]}"><title>{_text(label)}: '
            f"{_text(f'{value:g}')}</title></rect>"
        )
        if i % every == 0 or i == len(bars) - 1:
            out.append(
                f'<text x="{_num(x + step * 0.35)}" y="{y1 + 14}" text-anchor="middle" '
                f'fill="{AXIS_COLOR}">{_text(label)}</text>'
            )
    out.append(f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="{AXIS_COLOR}"/>')
    out.append("</svg>")
    return "\n".join(out)


def unit_axes(
    *, x0: float, x1: float, y0: float, y1: float, px: Callable, py: Callable
) -> list[str]:
    """Grid, tick labels (0 to 1 on both axes) and the axis lines of a [0, 1] x [0, 1] plot
    (threshold charts and OPIS utility curves)."""
    out: list[str] = []
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        out.append(
            f'<line x1="{x0}" y1="{py(tick)}" x2="{x1}" y2="{py(tick)}" stroke="{GRID_COLOR}"/>'
        )
        out.append(
            f'<text x="{x0 - 6}" y="{py(tick)}" dy="0.32em" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{tick:g}</text>'
        )
        out.append(
            f'<text x="{px(tick)}" y="{y1 + 15}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{tick:g}</text>'
        )
    out.append(
        f'<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="{AXIS_COLOR}" '
        'shape-rendering="crispEdges"/>'
    )
    return out
