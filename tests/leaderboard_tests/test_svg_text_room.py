"""No chart cuts its text: every title, tick, axis name and legend entry lies inside the
picture, measured with the charts' own wide-side glyph estimate (common.svg_text); the
browser test (tests/leaderboard_tests/test_browser_chart_text.py) holds the estimate to what
Chromium draws."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.svg import Series, confusion_matrix_svg, history_chart_svg
from common.svg_text import fit, text_width, wrap
from common.tradeoff_svg import TradeoffPoint, tradeoff_svg
from tests.leaderboard_tests.chart_text import T0, charts, text_boxes, view_box


def outside(svg: str) -> list[str]:
    """The texts of ``svg`` that reach past its viewBox."""
    width, height = view_box(ET.fromstring(svg))
    return [
        f"{text!r} at ({left:.1f}, {top:.1f})-({right:.1f}, {bottom:.1f}) in {width:g}x{height:g}"
        for text, (left, top, right, bottom) in text_boxes(svg)
        if left < 0 or top < 0 or right > width or bottom > height
    ]


@pytest.mark.parametrize(("name", "svg"), list(charts().items()))
def test_every_text_of_a_chart_lies_inside_it(name, svg) -> None:
    assert not outside(svg), "\n".join(outside(svg))


def test_a_long_title_wraps_onto_two_lines_and_keeps_its_whole_text_as_the_tooltip() -> None:
    title = "Bird strikes (FAA wildlife reports): best public accuracy over time " * 3
    svg = history_chart_svg(
        [Series("a", False, [(T0, 0.5), (T0 + timedelta(days=1), 0.6)])], title=title, y_label="y"
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    first, second = [t.text for t in root.iter(f"{ns}text") if t.get("font-size") == "13"]
    assert title.startswith(first) and second.endswith("…")
    assert title.startswith(f"{first} {second[:-1]}".rstrip())
    assert root.find(f"{ns}title").text == title
    assert root.get("aria-label") == title


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=6),
    title=st.text(max_size=120),
    width=st.integers(min_value=260, max_value=900),
)
def test_any_user_text_stays_inside_every_chart(names, title, width) -> None:
    series = [
        Series(n, i == 0, [(T0 + timedelta(hours=i), 0.1 * i), (T0 + timedelta(days=2), 0.9)])
        for i, n in enumerate(names)
    ]
    points = [TradeoffPoint(n, nfr=i / 10, gain=0.1 - i / 20) for i, n in enumerate(names)]
    for svg in (
        history_chart_svg(series, title=title, y_label=title, width=width),
        confusion_matrix_svg([[1] * len(names)] * len(names), names, title=title),
        tradeoff_svg(points, title=title, reference=title or "r", width=width),
    ):
        assert not outside(svg), "\n".join(outside(svg))


@pytest.mark.parametrize("room", [0, 5, 30, 100, 400])
def test_fit_and_wrap_never_exceed_their_room(room) -> None:
    text = "Émile & Zoë 多模态 🚀 " + "WWWW mmmm iiii " * 10
    assert text_width(fit(text, room, 11), 11) <= room or fit(text, room, 11) == ""
    for line in wrap(text, max(room, 1), 13, bold=True, lines=3):
        assert text_width(line, 13, bold=True) <= max(room, 1) or line in ("", "…")
    assert fit("short", 400, 11) == "short"
    assert wrap("two words", 400, 11) == ["two words"]
