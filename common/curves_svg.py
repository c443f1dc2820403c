"""Charts on the unit square, built like :mod:`common.svg` (same frame, escaping and text
room): precision and recall against the threshold, the precision-recall curve, and OPIS's
F1-against-threshold curves per group."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from common.svg import (
    AXIS_COLOR,
    EDGE,
    GRID_COLOR,
    LEGEND_WIDTH,
    PALETTE,
    TEXT_SIZE,
    _clean,
    _num,
    _open,
    _text,
    _y_axis_label,
)
from common.svg_text import fit

UNIT_TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def unit_axes(
    *,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    width: int,
    x_label: str,
    x_label_y: float,
    y_label: str | None = None,
) -> list[str]:
    """Grid, tick labels (0 to 1 on both axes), the axis lines and the axes' names of a
    [0, 1] x [0, 1] plot in the box ``x0..x1`` x ``y0..y1`` of a ``width`` wide picture."""
    out: list[str] = []
    for tick in UNIT_TICKS:
        x, y = _num(x0 + tick * (x1 - x0)), _num(y1 - tick * (y1 - y0))
        out.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{GRID_COLOR}"/>')
        out.append(
            f'<text x="{x0 - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{tick:g}</text>'
        )
        out.append(
            f'<text x="{x}" y="{_num(y1 + 15)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{tick:g}</text>'
        )
    out.append(
        f'<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="{AXIS_COLOR}" '
        'shape-rendering="crispEdges"/>'
    )
    centre = (x0 + x1) / 2
    room = 2 * min(centre - EDGE, width - EDGE - centre)
    out.append(
        f'<text x="{_num(centre)}" y="{_num(x_label_y)}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">{_text(fit(_clean(x_label), room, TEXT_SIZE))}</text>'
    )
    if y_label is not None:
        out.append(_y_axis_label(y_label, y0, y1))
    return out


def _clamped(v: float) -> float:
    return min(max(v, 0.0), 1.0)


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
    desc = f"Precision and recall at {t.size} score thresholds between 0 and 1."
    out, top = _open(width, height, title, desc)
    x0, x1, y0, y1 = 50, width - 16, top + 2, height - 62

    def px(v: float) -> str:
        return _num(x0 + v * (x1 - x0))

    def py(v: float) -> str:
        return _num(y1 - _clamped(v) * (y1 - y0))

    out.extend(
        unit_axes(
            x0=x0, x1=x1, y0=y0, y1=y1, width=width,
            x_label="Threshold on score", x_label_y=y1 + 32,
        )
    )  # fmt: skip
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
    out, top = _open(width, height, title, desc)
    x0, x1, y0, y1 = 50, width - 14, top, height - 40

    def px(r: float) -> float:
        return x0 + r * (x1 - x0)

    def py(p: float) -> float:
        return y1 - p * (y1 - y0)

    out.extend(
        unit_axes(
            x0=x0, x1=x1, y0=y0, y1=y1, width=width,
            x_label="Recall", x_label_y=height - 8, y_label="Precision",
        )
    )  # fmt: skip
    finite = [(float(r), float(p)) for r, p in points if math.isfinite(r) and math.isfinite(p)]
    if finite:
        coords = " ".join(f"{_num(px(_clamped(r)))},{_num(py(_clamped(p)))}" for r, p in finite)
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
    lo, hi = (_clamped(float(v)) for v in calibration)
    desc = (
        f"F1 of all rows pooled and of {len(groups)} groups at {pooled_f1.size} thresholds "
        f"between 0 and 1; the calibration range {lo:g} to {hi:g} is shaded."
    )
    out, top = _open(width, height, title, desc)
    x0, x1, y0, y1 = 50, width - LEGEND_WIDTH - 12, top, height - 40
    step = 1.0 / (pooled_f1.size - 1)

    def px(t: float) -> str:
        return _num(x0 + t * (x1 - x0))

    def py(v: float) -> str:
        return _num(y1 - _clamped(v) * (y1 - y0))

    out.append(
        f'<rect data-role="calibration-range" x="{px(lo)}" y="{y0}" '
        f'width="{_num((hi - lo) * (x1 - x0))}" height="{y1 - y0}" fill="#f7f0d6">'
        f"<title>Calibration range {lo:g} to {hi:g}</title></rect>"
    )
    out.extend(
        unit_axes(
            x0=x0, x1=x1, y0=y0, y1=y1, width=width,
            x_label="Threshold", x_label_y=height - 8, y_label="F1",
        )
    )  # fmt: skip

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
    room = width - EDGE - (lx + 26)
    capacity = max(1, int((y1 - y0) // 18))
    shown = series if len(series) <= capacity else series[: capacity - 1]
    for i, (name, _values, color, stroke, _role) in enumerate(shown):
        ly = y0 + 8 + i * 18
        out.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 20}" y2="{ly}" stroke="{color}" '
            f'stroke-width="{stroke}"/>'
        )
        out.append(
            f'<text x="{lx + 26}" y="{ly}" dy="0.32em" fill="#222222">'
            f"{_text(fit(_clean(name), room, TEXT_SIZE))}<title>{_text(name)}</title></text>"
        )
    if len(shown) < len(series):
        out.append(
            f'<text x="{lx + 26}" y="{y0 + 8 + len(shown) * 18}" dy="0.32em" '
            f'fill="{AXIS_COLOR}">+{len(series) - len(shown)} more</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
