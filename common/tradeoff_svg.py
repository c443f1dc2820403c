"""The update trade-off plot of a task (DESIGN §11): for every team's best entry, its score
gain over the primary reference (y) against its negative flip rate (x).

Drawn with the helpers of :mod:`common.svg` (same frame, escaping and ticks). A point up
and to the left is an update that gains without breaking rows the reference got right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from common.svg import AXIS_COLOR, GRID_COLOR, PALETTE, _num, _open, _shorten, _text, nice_ticks

LABEL_CHARS = 18


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
    out = _open(width, height, title, desc)
    x0, x1, y0, y1 = 60, width - 16, 32, height - 42
    xmax = max([p.nfr for p in usable] + [nfr_limit or 0.0, 0.01]) * 1.1
    gains = [p.gain for p in usable] or [0.0]
    ylow, yhigh = min(min(gains), 0.0), max(max(gains), 0.0)
    if yhigh - ylow < 1e-9:
        ylow, yhigh = ylow - 0.01, yhigh + 0.01
    pad = (yhigh - ylow) * 0.08
    ylow, yhigh = ylow - pad, yhigh + pad

    def px(v: float) -> float:
        return x0 + min(max(v / xmax, 0.0), 1.0) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - ylow) / (yhigh - ylow) * (y1 - y0)

    for tick in nice_ticks(ylow, yhigh):
        y = _num(py(tick))
        out.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{GRID_COLOR}"/>')
        out.append(
            f'<text x="{x0 - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{tick:+.3g}</text>'
        )
    for tick in nice_ticks(0.0, xmax):
        x = _num(px(tick))
        out.append(
            f'<text x="{x}" y="{y1 + 15}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{tick * 100:.3g}%</text>'
        )
    zero = _num(py(0.0))
    out.append(f'<line x1="{x0}" y1="{zero}" x2="{x1}" y2="{zero}" stroke="{AXIS_COLOR}"/>')
    out.append(
        f'<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="{AXIS_COLOR}" '
        f'shape-rendering="crispEdges"/>'
    )
    out.append(
        f'<text x="{_num((x0 + x1) / 2)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">Negative flip rate against {_text(_shorten(reference, 40))}</text>'
    )
    out.append(
        f'<text transform="translate(14 {_num((y0 + y1) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">Score gain</text>'
    )
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
        out.append(
            f'<text x="{_num(px(p.nfr) + 6)}" y="{cy}" dy="0.32em" fill="#222222">'
            f"{_text(_shorten(p.name, LABEL_CHARS))}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
