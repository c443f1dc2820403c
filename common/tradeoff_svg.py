"""The update trade-off plot of a task (DESIGN §11): for every team's best entry, its score
gain over the primary reference (y) against its negative flip rate (x).

Drawn with the helpers of :mod:`common.svg` (same frame, escaping and ticks). A point up
and to the left is an update that gains without breaking rows the reference got right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from common.svg import (
    AXIS_COLOR,
    EDGE,
    GRID_COLOR,
    PALETTE,
    TEXT_SIZE,
    _clean,
    _num,
    _open,
    _plot_left,
    _spread,
    _text,
    _y_axis_label,
    nice_ticks,
)
from common.svg_text import fit, text_width

LABEL_WIDTH = 120  # px at most for a team's name next to its point


class TradeoffPoint(NamedTuple):
    name: str
    nfr: float  # 0..1
    gain: float  # how much better than the reference (score - reference, or the reverse
    # for a lower-is-better metric)
    ineligible: bool = False  # above the track's NFR limit for the prize


def tradeoff_svg(
    points: Sequence[TradeoffPoint],
    *,
    title: str,
    reference: str,
    nfr_limit: float | None = None,
    width: int = 520,
    height: int = 340,
) -> str:
    """Score gain over ``reference`` against NFR; a dashed line at ``nfr_limit`` if set."""
    usable = [p for p in points if math.isfinite(p.nfr) and math.isfinite(p.gain)]
    desc = (
        f"Score gain over {reference} against the negative flip rate for {len(usable)} "
        "teams' best entries."
    )
    out, top = _open(width, height, title, desc)
    gains = [p.gain for p in usable] or [0.0]
    ylow, yhigh = min(min(gains), 0.0), max(max(gains), 0.0)
    if yhigh - ylow < 1e-9:
        ylow, yhigh = ylow - 0.01, yhigh + 0.01
    pad = (yhigh - ylow) * 0.08
    y_ticks = nice_ticks(ylow - pad, yhigh + pad)
    ylow, yhigh = y_ticks[0], y_ticks[-1]  # the axis spans its ticks: none drawn outside
    y_labels = [f"{tick:+.3g}" for tick in y_ticks]
    x_ticks = nice_ticks(0.0, max([p.nfr for p in usable] + [nfr_limit or 0.0, 0.01]) * 1.1)
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
    x_labels = [(px(tick), f"{tick * 100:.3g}%") for tick in x_ticks if tick >= 0]
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
    centre = (x0 + x1) / 2
    x_title = fit(
        f"Negative flip rate against {_clean(reference)}",
        2 * min(centre - EDGE, width - EDGE - centre),
        TEXT_SIZE,
    )
    out.append(
        f'<text x="{_num(centre)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">{_text(x_title)}</text>'
    )
    out.append(_y_axis_label("Score gain", y0, y1))
    if nfr_limit is not None:
        x = _num(px(nfr_limit))
        out.append(
            f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#b91c1c" '
            f'stroke-dasharray="5 4" class="nfr-limit"/>'
        )
    if not usable:
        out.append(
            f'<text x="{_num((x0 + x1) / 2)}" y="{_num((y0 + y1) / 2)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">No entry with flips yet</text>'
        )
    for p in usable:
        cx, cy = _num(px(p.nfr)), _num(py(p.gain))
        fill = "none" if p.ineligible else PALETTE[0]
        out.append(
            f'<circle class="team-point" cx="{cx}" cy="{cy}" r="4" fill="{fill}" '
            f'stroke="{PALETTE[0]}" stroke-width="1.5"><title>{_text(p.name)}: gain '
            f"{p.gain:+.4f}, NFR {p.nfr * 100:.2f}%"
            f"{' (not prize-eligible)' if p.ineligible else ''}</title></circle>"
        )
        # The name right of its point, or left of it where the picture ends.
        name = fit(_clean(p.name), LABEL_WIDTH, TEXT_SIZE)
        after = px(p.nfr) + 6 + text_width(name, TEXT_SIZE) <= width - EDGE
        x, anchor = (px(p.nfr) + 6, "start") if after else (px(p.nfr) - 6, "end")
        out.append(
            f'<text x="{_num(x)}" y="{cy}" dy="0.32em" text-anchor="{anchor}" '
            f'fill="#222222">{_text(name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
