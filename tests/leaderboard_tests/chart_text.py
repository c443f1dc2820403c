"""Charts drawn with what users write at its longest and widest, and where each text of a
chart lands: shared by the estimate test (test_svg_text_room.py) and the browser test that
measures the same charts in Chromium (tests/leaderboard_tests/test_browser_chart_text.py)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import numpy as np

from common.benchmark_svg import CostQuality, EffectBar, effects_svg, frontier_svg
from common.curves_svg import pr_curve_svg, threshold_chart_svg, utility_curves_svg
from common.svg import Series, bar_chart_svg, confusion_matrix_svg, history_chart_svg
from common.svg_text import ASCENT_EM, DESCENT_EM, text_width
from common.tradeoff_svg import TradeoffPoint, tradeoff_svg

NS = "{http://www.w3.org/2000/svg}"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

LONG = "Bird strikes (FAA wildlife reports, phase of flight, seven classes)"
WIDE = "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"
NAMES = [
    "Team with a really rather long name that goes on and on",
    WIDE,
    "多模态表格挑战赛的团队名称很长很长很长",
    "Émile & Zoë — Ångström Ærø Œuvre",
    "🚀🔥 rockets 🚀🔥🚀🔥🚀🔥",
    'x<script>alert("x")</script>',
    "Ωmega Жук Щука Ш Ю",
    "a\u0301\u0302\u0303 combining and zero\u200bwidth",
]


def _day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def charts() -> dict[str, str]:
    """Every chart kind, with long titles, long and wide names and many-digit ticks."""
    history = [
        Series(name, i == 1, [(_day(i), 0.9 + i / 1000 + 1e-5), (_day(i + 3), 0.99)])
        for i, name in enumerate(NAMES)
    ]
    minutes = [
        Series(name, False, [(T0 + timedelta(minutes=i), 1234567.891 * (i + 1))])
        for i, name in enumerate(NAMES[:3])
    ]
    grid = np.linspace(0, 1, 101)
    years = [Series("years", False, [(_day(0), 0.5), (_day(3 * 365), 0.6)])]
    return {
        "history": history_chart_svg(history, title=f"{LONG}: {LONG}", y_label=f"{LONG} {WIDE}"),
        "history-narrow": history_chart_svg(
            history, title=f"{WIDE} {LONG}", y_label="macro F1", width=380, height=240
        ),
        "history-minutes-big-values": history_chart_svg(
            minutes, title="Minutes apart", y_label="rmse"
        ),
        "history-years": history_chart_svg(years, title="Years", y_label="accuracy"),
        "history-empty": history_chart_svg([], title=WIDE * 3, y_label="accuracy"),
        "confusion": confusion_matrix_svg(
            np.arange(len(NAMES) ** 2).reshape(len(NAMES), -1), NAMES, title=f"{LONG} {LONG}"
        ),
        "confusion-one-class": confusion_matrix_svg([[3]], ["x"], title=f"{WIDE} confusion"),
        "confusion-many": confusion_matrix_svg(
            np.ones((30, 30), dtype=int), [f"class {WIDE[:i]}" for i in range(30)]
        ),
        "pr-curve": pr_curve_svg(
            [(0.0, 1.0), (1.0, 0.5)], title=f"{LONG} {LONG}", average_precision=0.123456
        ),
        "utility": utility_curves_svg(
            pooled=grid,
            groups=[(name, 1 - grid) for name in NAMES],
            calibration=(0.05, 0.95),
            title=f"{LONG} {WIDE}",
        ),
        "threshold": threshold_chart_svg(
            thresholds=grid, precision=grid, recall=1 - grid, title=f"{LONG}: {LONG}"
        ),
        "bars": bar_chart_svg(
            [(f"{WIDE[:12]} {i}", 1234567.0 * i) for i in range(31)],
            title=f"Submissions per day: {LONG} {LONG}",
            y_label="submissions",
        ),
        "bars-few": bar_chart_svg(
            [("2026-03-01 Sunday", 3), ("2026-03-02 Monday", 0)], title="Two", y_label="n"
        ),
        "tradeoff": tradeoff_svg(
            [
                TradeoffPoint(name, nfr=i / 40, gain=(i - 3) * 0.0123456, ineligible=i % 2 == 0)
                for i, name in enumerate(NAMES)
            ],
            title=f"{LONG}: score gain over {WIDE} vs NFR (public)",
            reference=f"{LONG} {WIDE}",
            nfr_limit=0.05,
        ),
        "tradeoff-one-point-at-the-edge": tradeoff_svg(
            [TradeoffPoint(WIDE, nfr=0.3, gain=-0.25)], title="T", reference="r"
        ),
        "tradeoff-empty": tradeoff_svg([], title=WIDE * 4, reference=WIDE * 4),
        "effects": effects_svg(
            [
                (
                    f"Algorithm effect {LONG}",
                    [
                        EffectBar(name, (i - 3) * 0.0123456, (i - 4) * 0.0123456, i * 0.0123)
                        for i, name in enumerate(NAMES)
                    ]
                    + [EffectBar(WIDE, None, None, None)],
                ),
                (f"Task difficulty {WIDE}", [EffectBar(LONG, -1234.5678, -2345.6, 12.5)]),
            ],
            title=f"{LONG}: what is the method and what is the data ({WIDE})",
        ),
        "frontier": frontier_svg(
            [
                CostQuality(name, 1234.5 * i, (i - 3) * 0.0123456, i % 2 == 0)
                for i, name in enumerate(NAMES)
            ]
            + [CostQuality(WIDE, None, 0.1, False)],
            title=f"{LONG}: quality against cost ({WIDE})",
            quality=f"{LONG} {WIDE}",
        ),
        "frontier-empty": frontier_svg([], title=WIDE * 4),
    }


def view_box(root: ET.Element) -> tuple[float, float]:
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    return width, height


def _size(element: ET.Element, parents: dict, attribute: str, default: str) -> str:
    while element is not None:
        if element.get(attribute) is not None:
            return element.get(attribute)
        element = parents.get(element)
    return default


def _transform(text: str | None):
    """``translate(a b) rotate(t)`` (either may be missing) as a point mapping."""
    tx = ty = angle = 0.0
    if text:
        if m := re.search(r"translate\(\s*([-\d.]+)[ ,]+([-\d.]+)\s*\)", text):
            tx, ty = float(m.group(1)), float(m.group(2))
        if m := re.search(r"rotate\(\s*([-\d.]+)\s*\)", text):
            angle = math.radians(float(m.group(1)))
    cos, sin = math.cos(angle), math.sin(angle)
    return lambda x, y: (tx + x * cos - y * sin, ty + x * sin + y * cos)


def text_boxes(
    svg: str, css_class: str | None = None
) -> list[tuple[str, tuple[float, float, float, float]]]:
    """``(text, (left, top, right, bottom))`` of every ``<text>`` of ``svg`` (of the class
    ``css_class`` when given) as the estimate sees it: its anchor, ``dy``, font size and
    weight, and transform."""
    root = ET.fromstring(svg)
    parents = {child: parent for parent in root.iter() for child in parent}
    found = []
    for element in root.iter(f"{NS}text"):
        if css_class is not None and css_class not in (element.get("class") or "").split():
            continue
        content = element.text or ""  # a <title> child is a tooltip, not drawn
        size = float(_size(element, parents, "font-size", "16"))
        bold = _size(element, parents, "font-weight", "400") in ("600", "700", "bold")
        width = text_width(content, size, bold=bold)
        x, y = float(element.get("x", 0)), float(element.get("y", 0))
        dy = element.get("dy", "0")
        y += float(dy[:-2]) * size if dy.endswith("em") else float(dy)
        anchor = _size(element, parents, "text-anchor", "start")
        left = x - {"start": 0.0, "middle": width / 2, "end": width}[anchor]
        corners = [
            (cx, cy)
            for cx in (left, left + width)
            for cy in (y - ASCENT_EM * size, y + DESCENT_EM * size)
        ]
        move = _transform(element.get("transform"))
        points = [move(cx, cy) for cx, cy in corners]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        found.append((content, (min(xs), min(ys), max(xs), max(ys))))
    return found
