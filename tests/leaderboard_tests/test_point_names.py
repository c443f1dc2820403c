"""The points' names on the scatter charts (the update trade-off plot of a task board, the
quality-cost frontier of a track): never one over another, nor over a point. Teams with the
same figures (byte-identical uploads) share one label; checked on the SVG's geometry as the
charts' own text estimate sees it (tests/leaderboard_tests/chart_text.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from common.benchmark_svg import CostQuality, frontier_svg
from common.tradeoff_svg import TradeoffPoint, tradeoff_svg
from tests.leaderboard_tests.chart_text import NS, text_boxes, view_box

Box = tuple[float, float, float, float]


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def labels(svg: str) -> list[tuple[str, Box]]:
    return text_boxes(svg, "point-name")


def points(svg: str) -> list[Box]:
    root = ET.fromstring(svg)
    return [
        (float(c.get("cx")) - 4, float(c.get("cy")) - 4, float(c.get("cx")) + 4,
         float(c.get("cy")) + 4)
        for c in root.iter(f"{NS}circle")
    ]  # fmt: skip


def collisions(svg: str) -> list[str]:
    found = labels(svg)
    width, height = view_box(ET.fromstring(svg))
    said = [
        f"{a!r} over {b!r}"
        for i, (a, box_a) in enumerate(found)
        for b, box_b in found[i + 1 :]
        if overlap(box_a, box_b)
    ]
    said += [f"{a!r} over a point" for a, box in found for p in points(svg) if overlap(box, p)]
    said += [
        f"{a!r} outside the picture"
        for a, (left, top, right, bottom) in found
        if left < 0 or top < 0 or right > width or bottom > height
    ]
    return said


def test_identical_teams_share_one_label_and_no_label_covers_another() -> None:
    same = dict(nfr=0.02, gain=0.05)
    svg = tradeoff_svg(
        [
            TradeoffPoint("Alpha", **same),
            TradeoffPoint("Beta", **same),  # Alpha's upload, byte for byte
            TradeoffPoint("Gamma", nfr=0.0201, gain=0.0502),  # almost on the same spot
            TradeoffPoint("Delta", nfr=0.05, gain=-0.01),
        ],
        title="Birds",
        reference="AutoGluon baseline",
    )
    assert not collisions(svg), collisions(svg)
    shown = [text for text, _ in labels(svg)]
    assert "Alpha, Beta" in shown and "Delta" in shown
    assert "Gamma" in shown  # moved off its neighbour's label, not dropped
    # every team is still named by its point's tooltip
    tips = [t.text for t in ET.fromstring(svg).iter(f"{NS}title")]
    assert all(any(tip.startswith(f"{name}:") for tip in tips) for name in ("Alpha", "Beta"))


def test_many_identical_teams_are_one_label_with_a_count() -> None:
    names = [f"Team {i}" for i in range(12)]
    svg = tradeoff_svg(
        [TradeoffPoint(n, nfr=0.01, gain=0.02) for n in names], title="T", reference="r"
    )
    (label,) = [text for text, _ in labels(svg)]
    assert label == "Team 0 +11"  # "Team 0, Team 1, ..." would not fit in 120 px


@settings(max_examples=80, deadline=None)
@given(
    spots=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=30),
            st.sampled_from([0.0, 0.001, 0.01, 0.0105, 0.02, 0.2]),
            st.sampled_from([-0.1, 0.0, 0.001, 0.0015, 0.05, 0.3]),
        ),
        min_size=1,
        max_size=12,
    ),
    width=st.integers(min_value=260, max_value=700),
)
def test_no_label_is_drawn_over_another_on_either_scatter_chart(spots, width) -> None:
    tradeoff = tradeoff_svg(
        [TradeoffPoint(n, nfr=x, gain=y) for n, x, y in spots], title="T", reference="r",
        width=width,
    )  # fmt: skip
    frontier = frontier_svg(
        [CostQuality(n, 1000 * x, y, i % 2 == 0) for i, (n, x, y) in enumerate(spots)],
        title="F",
        width=width,
    )
    for svg in (tradeoff, frontier):
        assert not collisions(svg), collisions(svg)
