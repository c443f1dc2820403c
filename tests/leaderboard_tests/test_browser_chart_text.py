"""The charts in a real Chromium (Debian's, through Playwright): every text element's drawn
box lies inside its picture, and the glyph estimate the charts are laid out with is never
narrower than what the browser draws. The same hostile charts as test_svg_text_room.py."""

from __future__ import annotations

import pytest

from common.svg_text import text_width
from tests.leaderboard_tests.chart_text import charts

pytestmark = pytest.mark.browser

CHARTS = charts()
MEASURE = """() => {
  const svg = document.querySelector('svg');
  const frame = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map((t) => {
    const r = t.getBoundingClientRect();
    const style = getComputedStyle(t);
    return {
      text: t.firstChild && t.firstChild.nodeType === Node.TEXT_NODE ? t.firstChild.data : '',
      left: r.left - frame.left, top: r.top - frame.top,
      right: r.right - frame.left, bottom: r.bottom - frame.top,
      length: t.getComputedTextLength(),
      size: parseFloat(style.fontSize), bold: parseInt(style.fontWeight, 10) >= 600,
    };
  });
  return {width: frame.width, height: frame.height, texts};
}"""


def drawn_problems(page, svg: str) -> tuple[list[str], list[str]]:
    """The texts Chromium draws past the picture's edges, and those it draws wider than
    the estimate."""
    page.set_content(f"<!doctype html><html><body style='margin:0'>{svg}</body></html>")
    found = page.evaluate(MEASURE)
    width, height = found["width"], found["height"]
    cut, wider = [], []
    for t in found["texts"]:
        inside = (
            t["left"] >= -0.5
            and t["top"] >= -0.5
            and t["right"] <= width + 0.5
            and t["bottom"] <= height + 0.5
        )
        if not inside:
            cut.append(f"{t['text']!r}: {t}")
        if t["length"] > text_width(t["text"], t["size"], bold=t["bold"]) + 0.5:
            wider.append(f"{t['text']!r}: drawn {t['length']:.1f} px at {t['size']} px")
    return cut, wider


@pytest.mark.parametrize("name", list(CHARTS))
def test_chromium_draws_every_text_inside_the_chart(browser_page, name) -> None:
    cut, wider = drawn_problems(browser_page, CHARTS[name])
    assert not cut, "cut at the edge:\n" + "\n".join(cut)
    assert not wider, "wider than estimated:\n" + "\n".join(wider)


def test_the_measure_sees_a_cut_text(browser_page) -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="30" viewBox="0 0 100 30" '
        'font-size="11"><text x="60" y="20">runs off the edge</text></svg>'
    )
    cut, wider = drawn_problems(browser_page, svg)
    assert len(cut) == 1 and "runs off the edge" in cut[0]
    assert not wider
