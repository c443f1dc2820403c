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
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import NamedTuple

import numpy as np

from common.svg_text import ASCENT_EM, DESCENT_EM, fit, text_width, wrap

FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
BASELINE_COLOR = "#6b6b6b"
AXIS_COLOR = "#444444"
GRID_COLOR = "#e3e3e3"
LEGEND_WIDTH = 170
TEXT_SIZE = 11  # the <svg>'s font-size
TITLE_SIZE, TITLE_LINE = 13, 16
EDGE = 4  # px kept free along the picture's edges
# The rotated axis label's baseline is at x = 14: its glyphs reach from about x = 3 to 17.
Y_LABEL_RIGHT = 14 + DESCENT_EM * TEXT_SIZE

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Series(NamedTuple):
    """One team's scored submissions over time."""

    name: str
    is_baseline: bool
    points: Sequence[tuple[datetime, float]]


def _clean(value: object) -> str:
    """``value`` as a chart shows it: characters XML 1.0 forbids dropped."""
    return _XML_INVALID.sub("", str(value))


def _text(value: object) -> str:
    """Text safe for XML content and attribute values."""
    return html.escape(_clean(value), quote=True)


def _num(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _open(width: int, height: int, title: str, desc: str) -> tuple[list[str], int]:
    """The ``<svg>`` element with its title, description and background, and the title
    drawn at the top in at most two lines that fit the width (the whole title stays in
    ``<title>`` and ``aria-label``); with the y below which a plot may start."""
    lines = _title_lines(width, title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(title)}" '
        f'{FONT} font-size="{TEXT_SIZE}">',
        f"<title>{_text(title)}</title>",
        f"<desc>{_text(desc)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i, line in enumerate(lines):
        out.append(
            f'<text x="8" y="{18 + i * TITLE_LINE}" font-size="{TITLE_SIZE}" font-weight="600" '
            f'fill="#222222">{_text(line)}</text>'
        )
    return out, _plot_top(width, title)


def _title_lines(width: int, title: str) -> list[str]:
    return wrap(_clean(title), width - 16, TITLE_SIZE, bold=True, lines=2)


def _plot_top(width: int, title: str) -> int:
    """The y below the title drawn by `_open`, where a plot may start."""
    return 32 + TITLE_LINE * (len(_title_lines(width, title)) - 1)


def _plot_left(tick_labels: Sequence[str], *, axis_label: bool = True, least: int = 0) -> int:
    """The x of a plot's left edge: room for the rotated axis label and for the tick labels,
    which end 6 px left of the axis."""
    widest = max((text_width(t, TEXT_SIZE) for t in tick_labels), default=0.0)
    start = Y_LABEL_RIGHT + 4 if axis_label else EDGE
    return max(least, math.ceil(start + widest + 6))


def _y_axis_label(text: str, y0: float, y1: float) -> str:
    """The rotated label left of a plot, cut to the plot's height."""
    shown = fit(_clean(text), y1 - y0, TEXT_SIZE)
    return (
        f'<text transform="translate(14 {_num((y0 + y1) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{_text(shown)}</text>'
    )


def _spread(
    labels: Sequence[tuple[float, str]], low: float, high: float
) -> list[tuple[float, str]]:
    """Centred tick labels moved inside ``[low, high]`` and thinned so that none overlaps
    the one before it (the last one is always kept)."""
    placed: list[tuple[float, float, str]] = []  # left, right, text
    for i, (x, label) in enumerate(labels):
        label = fit(label, high - low, TEXT_SIZE)
        half = text_width(label, TEXT_SIZE) / 2
        centre = min(max(x, low + half), high - half)
        left, right = centre - half, centre + half
        if placed and left < placed[-1][1] + 6:
            if i < len(labels) - 1:
                continue
            while placed and left < placed[-1][1] + 6:
                placed.pop()
        placed.append((left, right, label))
    return [((left + right) / 2, label) for left, right, label in placed]


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


class _Plot(NamedTuple):
    """A history chart's plot area and the time and value ranges it maps onto it."""

    x0: int
    x1: int
    y0: int
    y1: int
    t_min: float
    t_max: float
    v_min: float
    v_max: float

    def px(self, ts: float) -> float:
        return self.x0 + (ts - self.t_min) / (self.t_max - self.t_min) * (self.x1 - self.x0)

    def py(self, v: float) -> float:
        return self.y1 - (v - self.v_min) / (self.v_max - self.v_min) * (self.y1 - self.y0)


_Line = tuple[Series, list[tuple[datetime, float]]]


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
    out, top = _open(width, height, title, desc)
    bottom = 42
    right = LEGEND_WIDTH + 12 if lines else 16
    y0, y1 = top, max(top + 40, height - bottom)

    if not lines:
        out.extend(_no_history(58, max(98, width - right), y0, y1))
        out.append("</svg>")
        return "\n".join(out)

    times = [at.timestamp() for _, steps in lines for at, _ in steps]
    values = [v for _, steps in lines for _, v in steps]
    t_min, t_max = min(times), max(times)
    if t_max - t_min < 60:
        t_min, t_max = t_min - 1800, t_max + 1800
    y_ticks = nice_ticks(min(values), max(values))
    y_labels = [f"{v:g}" for v in y_ticks]
    x0 = _plot_left(y_labels, least=58)
    plot = _Plot(x0, max(x0 + 40, width - right), y0, y1, t_min, t_max, y_ticks[0], y_ticks[-1])

    out.extend(_value_axis(plot, y_ticks, y_labels))
    out.extend(_time_axis(plot, lines[0][1][0][0].tzinfo))
    out.append(
        f'<path d="M{plot.x0} {y0}V{y1}H{plot.x1}" fill="none" stroke="{AXIS_COLOR}" '
        f'shape-rendering="crispEdges"/>'
    )
    out.append(_y_axis_label(y_label, y0, y1))
    out.append(
        f'<text x="8" y="{height - 8}" font-size="10" fill="{AXIS_COLOR}" data-role="direction">'
        f"{'higher' if higher_is_better else 'lower'} is better</text>"
    )
    colors = _line_colors(lines)
    for (s, steps), color in zip(lines, colors, strict=True):
        out.extend(_step_line(plot, s, steps, color))
    out.extend(_legend(plot, lines, colors, width))
    out.append("</svg>")
    return "\n".join(out)


def _no_history(x0: int, x1: int, y0: int, y1: int) -> list[str]:
    """An empty plot frame saying there is nothing to draw yet."""
    return [
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" '
        f'stroke="{AXIS_COLOR}"/>',
        f'<text x="{_num((x0 + x1) / 2)}" y="{_num((y0 + y1) / 2)}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">No scored submissions yet</text>',
    ]


def _value_axis(plot: _Plot, ticks: Sequence[float], labels: Sequence[str]) -> list[str]:
    """The horizontal grid lines with their value labels left of the plot."""
    out = []
    for v, label in zip(ticks, labels, strict=True):
        y = _num(plot.py(v))
        out.append(f'<line x1="{plot.x0}" y1="{y}" x2="{plot.x1}" y2="{y}" stroke="{GRID_COLOR}"/>')
        out.append(
            f'<text x="{plot.x0 - 6}" y="{y}" dy="0.32em" text-anchor="end" fill="{AXIS_COLOR}">'
            f"{_text(label)}</text>"
        )
    return out


def _time_axis(plot: _Plot, tz: tzinfo | None) -> list[str]:
    """The time ticks below the plot, as many as have room for their labels (at most 5)."""
    for count in (5, 4, 3, 2):
        x_ticks, step = _time_ticks(plot.t_min, plot.t_max, count)
        x_labels = [(plot.px(ts), _time_label(ts, step, tz)) for ts in x_ticks]
        gap = (plot.x1 - plot.x0) * step / (plot.t_max - plot.t_min)
        if max(text_width(t, TEXT_SIZE) for _, t in x_labels) + 8 <= gap:
            break
    y1 = plot.y1
    out = []
    for ts in x_ticks:
        x = _num(plot.px(ts))
        out.append(f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y1 + 4}" stroke="{AXIS_COLOR}"/>')
    for x, label in _spread(x_labels, EDGE, plot.x1 + 10):  # the legend starts at x1 + 14
        out.append(
            f'<text x="{_num(x)}" y="{y1 + 16}" text-anchor="middle" fill="{AXIS_COLOR}">'
            f"{_text(label)}</text>"
        )
    return out


def _line_colors(lines: Sequence[_Line]) -> list[str]:
    """Each line's colour: baselines grey, teams through the palette in order."""
    colors: list[str] = []
    color_index = 0
    for s, _ in lines:
        if s.is_baseline:
            colors.append(BASELINE_COLOR)
        else:
            colors.append(PALETTE[color_index % len(PALETTE)])
            color_index += 1
    return colors


def _step_line(
    plot: _Plot, s: Series, steps: Sequence[tuple[datetime, float]], color: str
) -> list[str]:
    """One team's best-so-far step line to the plot's end, a point with a tooltip per step."""
    first_at, first_value = steps[0]
    d = [f"M{_num(plot.px(first_at.timestamp()))} {_num(plot.py(first_value))}"]
    for at, value in steps[1:]:
        d.append(f"H{_num(plot.px(at.timestamp()))}V{_num(plot.py(value))}")
    d.append(f"H{_num(plot.px(plot.t_max))}")
    dash = ' stroke-dasharray="6 4"' if s.is_baseline else ""
    out = [
        f'<g><title>{_text(s.name)}</title><path d="{"".join(d)}" fill="none" '
        f'stroke="{color}" stroke-width="2"{dash}/>'
    ]
    for at, value in steps:
        label = f"{s.name}: {value:.4g} ({at.isoformat(sep=' ', timespec='minutes')})"
        out.append(
            f'<circle cx="{_num(plot.px(at.timestamp()))}" cy="{_num(plot.py(value))}" r="2.5" '
            f'fill="{color}"><title>{_text(label)}</title></circle>'
        )
    out.append("</g>")
    return out


def _legend(plot: _Plot, lines: Sequence[_Line], colors: Sequence[str], width: int) -> list[str]:
    """The legend right of the plot, as many rows as fit and the rest summarized; names are
    cut to the room left."""
    lx, row_height = plot.x1 + 14, 16
    room = width - EDGE - (lx + 24)
    capacity = max(1, (plot.y1 - plot.y0) // row_height)
    shown = lines if len(lines) <= capacity else lines[: capacity - 1]
    out = []
    for i, (s, _) in enumerate(shown):
        y = plot.y0 + 6 + i * row_height
        dash = ' stroke-dasharray="6 4"' if s.is_baseline else ""
        suffix = " (baseline)" if s.is_baseline else ""
        name = fit(_clean(s.name), room - text_width(suffix, TEXT_SIZE), TEXT_SIZE) + suffix
        out.append(
            f'<line x1="{lx}" y1="{y}" x2="{lx + 18}" y2="{y}" stroke="{colors[i]}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(
            f'<text x="{lx + 24}" y="{y}" dy="0.32em" fill="#222222">{_text(name)}'
            f"<title>{_text(s.name)}</title></text>"
        )
    if len(shown) < len(lines):
        y = plot.y0 + 6 + len(shown) * row_height
        out.append(
            f'<text x="{lx + 24}" y="{y}" dy="0.32em" fill="{AXIS_COLOR}">'
            f"+{len(lines) - len(shown)} more</text>"
        )
    return out


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

    names = [fit(_clean(c), 110, TEXT_SIZE) for c in classes]
    label_width = max(text_width(n, TEXT_SIZE) for n in names)
    left = _plot_left(names, least=40)  # "True" rotated, then the row labels
    cell = max(12, min(48, int((max_size - left) // k)))
    grid = cell * k
    width = max(int(left + grid + 16), 200)
    desc = f"Confusion matrix over {k} classes; rows are true classes, columns predicted."
    top = _plot_top(width, title) + 8
    # A column label turned 45 degrees reaches 0.71 x (its width + a line) below the grid.
    below = top + grid + 6 + 0.71 * (label_width + (ASCENT_EM + DESCENT_EM) * TEXT_SIZE)
    height = math.ceil(below + 6 + TEXT_SIZE + EDGE)
    out, _ = _open(width, height, title, desc)
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
        f'<text x="{_num(left + grid / 2)}" y="{height - EDGE - 3}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">Predicted</text>'
    )
    out.append(_y_axis_label("True", top, top + grid))
    out.append("</svg>")
    return "\n".join(out)


__all__ = [
    "Series",
    "bar_chart_svg",
    "confusion_matrix_svg",
    "history_chart_svg",
    "nice_ticks",
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
    out, top = _open(width, height, title, f"{y_label} for {len(bars)} bars, {total:g} in all.")
    ticks = nice_ticks(0.0, max([v for _, v in bars] + [1.0]), 4)
    tick_labels = [f"{tick:g}" for tick in ticks]
    x0 = _plot_left(tick_labels, axis_label=False, least=48)
    x1, y0, y1 = width - 12, top, height - 36
    high = ticks[-1] or 1.0
    for tick, tick_label in zip(ticks, tick_labels, strict=True):
        y = y1 - (tick / high) * (y1 - y0)
        out.append(
            f'<line x1="{x0}" y1="{_num(y)}" x2="{x1}" y2="{_num(y)}" stroke="{GRID_COLOR}"/>'
        )
        out.append(
            f'<text x="{x0 - 6}" y="{_num(y + 4)}" text-anchor="end" fill="{AXIS_COLOR}">'
            f"{_text(tick_label)}</text>"
        )
    step = (x1 - x0) / max(len(bars), 1)
    every = 1 if len(bars) <= 10 else 5
    labels = []
    for i, (label, value) in enumerate(bars):
        h = (value / high) * (y1 - y0)
        x = x0 + i * step + step * 0.15
        out.append(
            f'<rect x="{_num(x)}" y="{_num(y1 - h)}" width="{_num(step * 0.7)}" '
            f'height="{_num(h)}" fill="{PALETTE[0]}"><title>{_text(label)}: '
            f"{_text(f'{value:g}')}</title></rect>"
        )
        if i % every == 0 or i == len(bars) - 1:
            labels.append((x + step * 0.35, _clean(label)))
    for x, label in _spread(labels, EDGE, width - EDGE):
        out.append(
            f'<text x="{_num(x)}" y="{y1 + 14}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{_text(label)}</text>'
        )
    out.append(f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="{AXIS_COLOR}"/>')
    out.append("</svg>")
    return "\n".join(out)
