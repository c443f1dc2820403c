"""The frame of a scatter plot (:mod:`common.tradeoff_svg`, :mod:`common.benchmark_svg`):
a y axis around 0 with gridlines, an x axis from 0, the zero line, the frame, and the
points' names beside them, none over another. Drawn with the helpers of :mod:`common.svg`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from common.svg import (
    AXIS_COLOR,
    EDGE,
    GRID_COLOR,
    TEXT_SIZE,
    _clean,
    _num,
    _plot_left,
    _spread,
    _text,
    nice_ticks,
)
from common.svg_text import ASCENT_EM, DESCENT_EM, fit, text_width


class ScatterFrame(NamedTuple):
    x0: float
    x1: float
    y0: float
    y1: float
    px: Callable[[float], float]  # a value on the x axis -> its x
    py: Callable[[float], float]  # a value on the y axis -> its y


def scatter_frame(
    out: list[str],
    *,
    ys: Sequence[float],
    x_max: float,
    x_label: Callable[[float], str],
    width: int,
    height: int,
    top: int,
    x_least: float = 0.01,
) -> ScatterFrame:
    """Draw the axes of values ``ys`` (the y range holds 0, padded 8%) against x from 0 to
    ``x_max`` (at least ``x_least``; ticks labelled by ``x_label``), gridlines, the zero line
    and the frame into ``out``; the frame's edges and mappings for the points."""
    ylow, yhigh = min(min(ys, default=0.0), 0.0), max(max(ys, default=0.0), 0.0)
    if yhigh - ylow < 1e-9:
        ylow, yhigh = ylow - 0.01, yhigh + 0.01
    pad = (yhigh - ylow) * 0.08
    y_ticks = nice_ticks(ylow - pad, yhigh + pad)
    ylow, yhigh = y_ticks[0], y_ticks[-1]  # the axis spans its ticks: none drawn outside
    y_labels = [f"{tick:+.3g}" for tick in y_ticks]
    x_ticks = nice_ticks(0.0, max(x_max, x_least) * 1.1)
    xmax = x_ticks[-1]
    x0, x1, y0, y1 = _plot_left(y_labels, least=60), width - 16, top, height - 42

    def px(v: float) -> float:
        return x0 + min(max(v / xmax, 0.0), 1.0) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - ylow) / (yhigh - ylow) * (y1 - y0)

    for tick, label in zip(y_ticks, y_labels, strict=True):
        y = _num(py(tick))
        out.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{GRID_COLOR}"/>')
        out.append(
            f'<text x="{x0 - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{label}</text>'
        )
    x_labels = [(px(tick), x_label(tick)) for tick in x_ticks if tick >= 0]
    for x, label in _spread(x_labels, EDGE, width - EDGE):
        out.append(
            f'<text x="{_num(x)}" y="{y1 + 15}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{label}</text>'
        )
    zero = _num(py(0.0))
    out.append(f'<line x1="{x0}" y1="{zero}" x2="{x1}" y2="{zero}" stroke="{AXIS_COLOR}"/>')
    out.append(
        f'<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="{AXIS_COLOR}" '
        f'shape-rendering="crispEdges"/>'
    )
    return ScatterFrame(x0, x1, y0, y1, px, py)


class PointName(NamedTuple):
    name: str
    x: float  # the point's centre
    y: float


POINT_RADIUS = 4  # px: each point's circle
LABEL_GAP = 6  # px between a point's centre and its name
LINE = TEXT_SIZE * (ASCENT_EM + DESCENT_EM)  # a label's height
SHIFTS = (0.0, -1.0, 1.0, -2.0, 2.0)  # label heights a name may move up or down
GAP = 1.0  # px kept free between two labels, and between a label and a point


def point_names(
    out: list[str], points: Sequence[PointName], *, frame: ScatterFrame, width: int, most: float
) -> None:
    """The points' names, none over another or over a point. Points drawn at the same spot
    (teams with the same figures) share one label ("A, B", or "A +2" when that does not fit
    in ``most`` px); a label goes right of its point, else left of it, else up to two label
    heights above or below, within the plot (right up to the picture's edge); one that
    finds no free place is left out (its point's tooltip still names it)."""
    spots: dict[tuple[float, float], list[str]] = {}
    for p in points:
        spots.setdefault((round(p.x, 1), round(p.y, 1)), []).append(_clean(p.name))
    r = POINT_RADIUS
    taken = [(x - r, y - r, x + r, y + r) for x, y in spots]  # the points themselves
    for (x, y), names in sorted(spots.items(), key=lambda spot: (spot[0][1], spot[0][0])):
        shown = _together(names, most)
        size = text_width(shown, TEXT_SIZE)
        for shift in SHIFTS:
            centre = y + shift * (LINE + GAP)
            for left in (x + LABEL_GAP, x - LABEL_GAP - size):
                box = (left, centre - LINE / 2, left + size, centre + LINE / 2)
                inside = frame.x0 <= box[0] and box[2] <= width - EDGE
                inside = inside and frame.y0 <= box[1] and box[3] <= frame.y1
                if inside and not any(_overlap(box, other) for other in taken):
                    taken.append(box)
                    out.append(
                        f'<text class="point-name" x="{_num(left)}" y="{_num(centre)}" '
                        f'dy="{DY_EM}em" fill="#222222">{_text(shown)}</text>'
                    )
                    break
            else:
                continue
            break


# The baseline below a label's middle, so that the estimate's box (ascent above, descent
# below) is centred on the point.
DY_EM = round((ASCENT_EM - DESCENT_EM) / 2, 2)


def _together(names: list[str], most: float) -> str:
    """One label for the teams at one spot: every name, else the first and how many more."""
    if len(names) == 1:
        return fit(names[0], most, TEXT_SIZE)
    every = ", ".join(names)
    if text_width(every, TEXT_SIZE) <= most:
        return every
    more = f" +{len(names) - 1}"
    return fit(names[0], most - text_width(more, TEXT_SIZE), TEXT_SIZE) + more


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two boxes come closer than ``GAP`` (the drawn positions are rounded to 0.1 px:
    boxes that merely touch here could overlap there)."""
    return (
        a[0] < b[2] + GAP and b[0] < a[2] + GAP and a[1] < b[3] + GAP and b[1] < a[3] + GAP
    )
