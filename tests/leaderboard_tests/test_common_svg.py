"""Standalone SVG charts: well-formed, accessible, escaped (no Django)."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.curves_svg import pr_curve_svg, utility_curves_svg
from common.svg import (
    Series,
    confusion_matrix_svg,
    history_chart_svg,
    nice_ticks,
)

NS = "{http://www.w3.org/2000/svg}"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root[0].tag == f"{NS}title"
    return root


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{NS}text")]


def tooltips(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{NS}title")]


def series_paths(root: ET.Element) -> list[ET.Element]:
    return [p for g in root.iter(f"{NS}g") for p in g.iter(f"{NS}path")]


def test_history_chart_escapes_a_hostile_team_name():
    evil = '<script>alert("x")</script>'
    svg = history_chart_svg(
        [Series(evil, False, [(day(0), 0.5), (day(2), 0.7)])], title="Accuracy", y_label="acc"
    )
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert not list(root.iter(f"{NS}script"))
    assert evil in tooltips(root)  # shown as text, intact


def test_history_chart_is_a_best_so_far_step_line_with_a_dashed_baseline():
    svg = history_chart_svg(
        [
            Series("team", False, [(day(0), 0.5), (day(1), 0.8), (day(2), 0.6), (day(3), 0.9)]),
            Series("AutoGluon", True, [(day(0), 0.7)]),
        ],
        title="History",
        y_label="accuracy",
    )
    root = parse(svg)
    team, baseline = series_paths(root)
    d = team.get("d")
    # Starts at the first point, climbs twice (0.8, then 0.9; the 0.6 is no new best).
    assert d.startswith("M")
    assert d.count("V") == 2
    ys = [float(v) for v in re.findall(r"V([\d.]+)", d)]
    assert ys == sorted(ys, reverse=True)  # each step goes up the page
    assert team.get("stroke-dasharray") is None
    assert baseline.get("stroke-dasharray")
    assert "AutoGluon (baseline)" in texts(root)
    assert root.find(f"{NS}title").text == "History"
    labels = texts(root)
    assert "Mar 02" in labels and "accuracy" in labels  # day ticks at midnight UTC


def test_history_chart_without_points_says_so():
    root = parse(history_chart_svg([Series("a", False, [])], title="T", y_label="y"))
    assert "No scored submissions yet" in texts(root)


def test_history_chart_with_a_single_point_and_many_teams_stays_valid():
    one = parse(history_chart_svg([Series("a", False, [(T0, 0.5)])], title="T", y_label="y"))
    assert len(series_paths(one)) == 1
    many = [Series(f"team {i}", False, [(day(i / 10), i / 100)]) for i in range(40)]
    root = parse(history_chart_svg(many, title="T", y_label="y"))
    assert any(t.endswith("more") for t in texts(root))


@settings(max_examples=50, deadline=None)
@given(
    names=st.lists(st.text(max_size=40), min_size=1, max_size=4),
    title=st.text(max_size=30),
)
def test_any_user_text_gives_well_formed_svg(names, title):
    series = [
        Series(n, i == 0, [(day(i), 0.1 * i), (day(i + 1), 0.2)]) for i, n in enumerate(names)
    ]
    for svg in (
        history_chart_svg(series, title=title, y_label=title),
        confusion_matrix_svg(np.eye(len(names), dtype=int), names, title=title),
        pr_curve_svg([(0.0, 1.0), (1.0, 0.5)], title=title),
    ):
        root = parse(svg)
        assert not list(root.iter(f"{NS}script"))


def test_pr_curve_plots_recall_on_x_and_precision_on_y():
    root = parse(pr_curve_svg([(0.0, 1.0), (0.5, 0.8), (1.0, 0.3)], average_precision=0.75))
    (line,) = root.iter(f"{NS}polyline")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert xs == sorted(xs)  # recall grows to the right
    assert ys == sorted(ys)  # precision falls: y grows down the page
    assert "AP = 0.750" in texts(root)


def test_confusion_matrix_prints_counts_and_validates_its_shape():
    root = parse(confusion_matrix_svg([[5, 1], [0, 4]], ["cat", "<dog>"]))
    labels = texts(root)
    for count in ("5", "1", "0", "4"):
        assert count in labels
    assert "<dog>" in labels
    with pytest.raises(ValueError):
        confusion_matrix_svg([[1, 2]], ["a", "b"])


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), (0.43, 0.71, [0.4, 0.5, 0.6, 0.7, 0.8])],
)
def test_nice_ticks(low, high, expected):
    assert nice_ticks(low, high) == pytest.approx(expected)


def test_utility_curves_draw_the_pool_the_groups_and_the_calibration_band():
    grid = np.linspace(0, 1, 101)
    hostile = "<script>x</script>\x00 & co"
    svg = utility_curves_svg(
        pooled=grid,
        groups=[(hostile, 1 - grid), ("b", np.full(101, np.nan))],
        calibration=(0.25, 0.75),
    )
    root = parse(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    lines = root.findall(f".//{NS}polyline")
    assert [line.get("data-role") for line in lines] == [
        "group-curve",
        "group-curve",
        "pooled-curve",
    ]  # the pool is drawn last, on top
    assert len(lines[2].get("points").split()) == 101
    assert lines[0].get("points") == ""  # "b": no finite value, no NaN coordinates drawn
    band = root.find(f".//{NS}rect[@data-role='calibration-range']")
    x0, x1 = 50, 560 - 170 - 12
    assert float(band.get("x")) == pytest.approx(x0 + 0.25 * (x1 - x0), abs=0.01)
    assert float(band.get("width")) == pytest.approx(0.5 * (x1 - x0), abs=0.01)
    with pytest.raises(ValueError):
        utility_curves_svg(pooled=grid, groups=[("a", grid[:50])], calibration=(0, 1))
