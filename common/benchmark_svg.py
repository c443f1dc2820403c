"""The living benchmark's plots (docs/architecture.md §12), drawn with the helpers of
:mod:`common.svg` (same frame, escaping, ticks and text fitting):

- :func:`effects_svg`: a forest plot of the transfer matrix's decomposition, one row per
  algorithm effect and per task difficulty, each a point with its interval, around 0;
- :func:`frontier_svg`: quality against CPU-seconds per run, the Pareto frontier drawn as
  the steps of the best quality each budget buys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from common.numbers import number_text
from common.scatter_svg import PointName, point_names, scatter_frame
from common.svg import (
    AXIS_COLOR,
    EDGE,
    GRID_COLOR,
    PALETTE,
    TEXT_SIZE,
    _clean,
    _num,
    _open,
    _plot_top,
    _spread,
    _text,
    _y_axis_label,
    nice_ticks,
)
from common.svg_text import fit, text_width

NAME_WIDTH = 170  # px at most for a row's name in the forest plot
ROW_HEIGHT = 20
LABEL_WIDTH = 120  # px at most for a point's name in the frontier plot


class EffectBar(NamedTuple):
    name: str
    effect: float | None  # None: not placed (shown as a note)
    low: float | None
    high: float | None


def _signed(value: float | None) -> str:
    """A difference as the pages print it (``common.numbers``): ``+0.0123``, never -0.0000."""
    return number_text(value, 4, signed=True)


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def effects_svg(
    sections: Sequence[tuple[str, Sequence[EffectBar]]],
    *,
    title: str,
    axis: str = "Effect on the delta against the baseline",
    width: int = 640,
) -> str:
    """One row per bar of each section (a section's heading above its rows): the effect as
    a dot and its interval as a line, a vertical line at 0. Bars without an effect are
    listed with "not placed"."""
    rows = sum(1 + len(bars) for _, bars in sections)
    top = _plot_top(width, title) + 4
    height = top + rows * ROW_HEIGHT + 46
    placed = [b for _, bars in sections for b in bars if _finite(b.effect)]
    desc = (
        f"Effects with their 95% intervals: {', '.join(name for name, _ in sections)}; "
        f"{len(placed)} placed."
    )
    out, _ = _open(width, height, title, desc)
    values = [0.0]
    for b in placed:
        values += [v for v in (b.effect, b.low, b.high) if v is not None and math.isfinite(v)]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.01, high + 0.01
    pad = (high - low) * 0.05
    ticks = nice_ticks(low - pad, high + pad)
    low, high = ticks[0], ticks[-1]
    names = [fit(_clean(b.name), NAME_WIDTH, TEXT_SIZE) for _, bars in sections for b in bars]
    x0 = min(EDGE + max((text_width(n, TEXT_SIZE) for n in names), default=0.0) + 24, width // 2)
    x1 = width - 16
    y_end = top + rows * ROW_HEIGHT

    def px(v: float) -> float:
        return x0 + (min(max(v, low), high) - low) / (high - low) * (x1 - x0)

    for tick in ticks:
        x = _num(px(tick))
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{y_end}" stroke="{GRID_COLOR}"/>')
    for x, label in _spread([(px(t), f"{t:+.3g}") for t in ticks], EDGE, width - EDGE):
        out.append(
            f'<text x="{_num(x)}" y="{y_end + 15}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{label}</text>'
        )
    zero = _num(px(0.0))
    out.append(
        f'<line class="zero" x1="{zero}" y1="{top}" x2="{zero}" y2="{y_end}" '
        f'stroke="{AXIS_COLOR}"/>'
    )
    y = top
    for s, (heading, bars) in enumerate(sections):
        color = PALETTE[s % len(PALETTE)]
        out.append(
            f'<text x="{EDGE}" y="{_num(y + ROW_HEIGHT / 2)}" dy="0.32em" font-weight="600" '
            f'fill="#222222">{_text(fit(_clean(heading), width - 2 * EDGE, TEXT_SIZE))}</text>'
        )
        y += ROW_HEIGHT
        for bar in bars:
            cy = _num(y + ROW_HEIGHT / 2)
            name = fit(_clean(bar.name), NAME_WIDTH, TEXT_SIZE)
            out.append(
                f'<text x="{x0 - 8}" y="{cy}" dy="0.32em" text-anchor="end" '
                f'fill="#222222">{_text(name)}</text>'
            )
            if not _finite(bar.effect):
                out.append(
                    f'<text x="{x0 + 4}" y="{cy}" dy="0.32em" fill="{AXIS_COLOR}" '
                    f'font-style="italic">not placed</text>'
                )
            else:
                assert bar.effect is not None
                if _finite(bar.low, bar.high):
                    assert bar.low is not None and bar.high is not None
                    out.append(
                        f'<line class="interval" x1="{_num(px(bar.low))}" y1="{cy}" '
                        f'x2="{_num(px(bar.high))}" y2="{cy}" stroke="{color}" '
                        f'stroke-width="2"/>'
                    )
                    interval = f" [{_signed(bar.low)}, {_signed(bar.high)}]"
                else:
                    interval = ""
                out.append(
                    f'<circle class="effect" cx="{_num(px(bar.effect))}" cy="{cy}" r="4" '
                    f'fill="{color}"><title>{_text(bar.name)}: {_signed(bar.effect)}'
                    f"{interval}</title></circle>"
                )
            y += ROW_HEIGHT
    centre = (x0 + x1) / 2
    label = fit(axis, 2 * min(centre - EDGE, width - EDGE - centre), TEXT_SIZE)
    out.append(
        f'<text x="{_num(centre)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">{_text(label)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


class CostQuality(NamedTuple):
    name: str
    cpu_seconds: float | None
    quality: float | None
    on_frontier: bool


def frontier_svg(
    points: Sequence[CostQuality],
    *,
    title: str,
    quality: str = "Mean delta against the baseline",
    width: int = 560,
    height: int = 340,
) -> str:
    """Quality (y, higher is better) against CPU-seconds per run (x, from 0); frontier
    points filled and joined by the steps of the best quality at each cost."""
    usable = [p for p in points if _finite(p.cpu_seconds, p.quality)]
    desc = (
        f"{quality} against CPU-seconds per run for {len(usable)} algorithms; "
        f"{sum(p.on_frontier for p in usable)} on the frontier."
    )
    out, top = _open(width, height, title, desc)
    frame = scatter_frame(
        out,
        ys=[p.quality for p in usable if p.quality is not None],
        x_max=max([p.cpu_seconds for p in usable if p.cpu_seconds is not None], default=0.0),
        x_label=lambda tick: f"{tick:g}",
        width=width,
        height=height,
        top=top,
        x_least=1.0,
    )
    x0, x1, y0, y1, px, py = frame
    centre = (x0 + x1) / 2
    out.append(
        f'<text x="{_num(centre)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">CPU-seconds per run</text>'
    )
    out.append(_y_axis_label(quality, y0, y1))
    frontier = sorted(
        (p for p in usable if p.on_frontier), key=lambda p: (p.cpu_seconds, p.quality)
    )
    if frontier:
        steps: list[str] = []
        for i, p in enumerate(frontier):
            assert p.cpu_seconds is not None and p.quality is not None
            x, y = _num(px(p.cpu_seconds)), _num(py(p.quality))
            steps.append(f"M{x} {y}" if i == 0 else f"H{x}V{y}")
        steps.append(f"H{x1}")
        out.append(
            f'<path class="frontier" d="{"".join(steps)}" fill="none" stroke="{PALETTE[2]}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    if not usable:
        out.append(
            f'<text x="{_num(centre)}" y="{_num((y0 + y1) / 2)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">No algorithm with a score and a CPU time yet</text>'
        )
    names: list[PointName] = []
    for p in usable:
        assert p.cpu_seconds is not None and p.quality is not None
        cx, cy = _num(px(p.cpu_seconds)), _num(py(p.quality))
        names.append(PointName(p.name, px(p.cpu_seconds), py(p.quality)))
        fill = PALETTE[2] if p.on_frontier else "none"
        stroke = PALETTE[2] if p.on_frontier else PALETTE[0]
        out.append(
            f'<circle class="algorithm-point{" on-frontier" if p.on_frontier else ""}" '
            f'cx="{cx}" cy="{cy}" r="4" fill="{fill}" stroke="{stroke}" stroke-width="1.5">'
            f"<title>{_text(p.name)}: {_signed(p.quality)} at {number_text(p.cpu_seconds, 1)} CPU-s"
            f"{' (on the frontier)' if p.on_frontier else ''}</title></circle>"
        )
    point_names(out, names, frame=frame, width=width, most=LABEL_WIDTH)
    out.append("</svg>")
    return "\n".join(out)
