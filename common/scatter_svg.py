"""The frame of a scatter plot (:mod:`common.tradeoff_svg`, :mod:`common.benchmark_svg`):
a y axis around 0 with gridlines, an x axis from 0, the zero line, the frame, and a point's
name beside it. Drawn with the helpers of :mod:`common.svg`."""

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
from common.svg_text import fit, text_width


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


def point_name(out: list[str], name: str, x: float, cy: str, *, width: int, most: float) -> None:
    """``name`` (cut to ``most`` px) right of the point at ``x``, or left of it where the
    picture ends."""
    shown = fit(_clean(name), most, TEXT_SIZE)
    after = x + 6 + text_width(shown, TEXT_SIZE) <= width - EDGE
    at, anchor = (x + 6, "start") if after else (x - 6, "end")
    out.append(
        f'<text x="{_num(at)}" y="{cy}" dy="0.32em" text-anchor="{anchor}" '
        f'fill="#222222">{_text(shown)}</text>'
    )
