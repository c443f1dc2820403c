"""The matching insight's threshold chart: precision and recall against the score threshold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from common.svg import AXIS_COLOR, PALETTE, unit_axes
from common.svg import coordinate as _num
from common.svg import xml_text as _text


def threshold_chart_svg(
    *,
    thresholds: Sequence[float] | np.ndarray,
    precision: Sequence[float] | np.ndarray,
    recall: Sequence[float] | np.ndarray,
    title: str,
    width: int = 420,
    height: int = 250,
) -> str:
    """Precision and recall (y, on [0, 1]) against the score threshold (x, on [0, 1]).

    ``precision[i]`` and ``recall[i]`` are those of predicting a match when
    ``score >= thresholds[i]`` (as ``precision_recall_curve`` returns them, minus its last
    point). One standalone ``<svg>`` with ``role="img"``, a ``<title>`` and a legend.
    """
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 0.0, 1.0)
    p = np.asarray(precision, dtype=np.float64)
    r = np.asarray(recall, dtype=np.float64)
    if not (t.shape == p.shape == r.shape) or t.ndim != 1:
        raise ValueError("thresholds, precision and recall must be 1-D of the same length")
    x0, x1, y0, y1 = 50, width - 16, 34, height - 62

    def px(v: float) -> str:
        return _num(x0 + v * (x1 - x0))

    def py(v: float) -> str:
        return _num(y1 - min(max(v, 0.0), 1.0) * (y1 - y0))

    desc = f"Precision and recall at {t.size} score thresholds between 0 and 1."
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(title)}" '
        'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">',
        f"<title>{_text(title)}</title>",
        f"<desc>{_text(desc)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="18" font-size="13" font-weight="600" fill="#222222">{_text(title)}</text>',
    ]
    out.extend(unit_axes(x0=x0, x1=x1, y0=y0, y1=y1, px=px, py=py))
    out.append(
        f'<text x="{_num((x0 + x1) / 2)}" y="{y1 + 32}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">Threshold on score</text>'
    )
    series = (
        ("Precision", p, PALETTE[0], ""),
        ("Recall", r, PALETTE[1], ' stroke-dasharray="6 4"'),
    )
    keep = np.isfinite(p) & np.isfinite(r)
    if t.size and keep.any():
        for name, values, color, dash in series:
            points = " ".join(
                f"{px(float(a))},{py(float(b))}" for a, b in zip(t[keep], values[keep], strict=True)
            )
            out.append(
                f'<polyline points="{points}" fill="none" stroke="{color}" '
                f'stroke-width="2"{dash}><title>{name}</title></polyline>'
            )
    else:
        out.append(
            f'<text x="{_num((x0 + x1) / 2)}" y="{_num((y0 + y1) / 2)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">No scores on these rows</text>'
        )
    legend_y = height - 12
    for i, (name, _values, color, dash) in enumerate(series):
        lx = x0 + i * 110
        out.append(
            f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 22}" y2="{legend_y}" stroke="{color}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{lx + 28}" y="{legend_y}" dy="0.32em" fill="#222222">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)
