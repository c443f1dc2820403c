"""The update trade-off plot of a task (docs/architecture.md §11): for every team's best
entry, its score gain over the primary reference (y) against its negative flip rate (x).

Drawn with the helpers of :mod:`common.svg` (same frame, escaping and ticks). A point up
and to the left is an update that gains without breaking rows the reference got right.
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
    PALETTE,
    TEXT_SIZE,
    _clean,
    _num,
    _open,
    _text,
    _y_axis_label,
)
from common.svg_text import fit

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
    frame = scatter_frame(
        out,
        ys=[p.gain for p in usable],
        x_max=max([p.nfr for p in usable] + [nfr_limit or 0.0]),
        x_label=lambda tick: f"{tick * 100:.3g}%",
        width=width,
        height=height,
        top=top,
    )
    x0, x1, y0, y1, px, py = frame
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
            f"{number_text(p.gain, signed=True)}, NFR {number_text(p.nfr * 100, 2)}%"
            f"{' (not prize-eligible)' if p.ineligible else ''}</title></circle>"
        )
    names = [PointName(p.name, px(p.nfr), py(p.gain)) for p in usable]
    point_names(out, names, frame=frame, width=width, most=LABEL_WIDTH)
    out.append("</svg>")
    return "\n".join(out)
