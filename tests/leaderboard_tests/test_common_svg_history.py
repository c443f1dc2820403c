"""The history chart, pinned: the exact lines, points, ticks and legend it draws for a few
representative boards (no Django). These are what a reader of a task's history page sees;
a change to any number here is a change to the picture."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from common.svg import Series, history_chart_svg

NS = "{http://www.w3.org/2000/svg}"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def lines_of(root: ET.Element) -> list[tuple[str, str, str, str | None]]:
    """Each team's line: name, path, colour and dash."""
    out = []
    for g in root.iter(f"{NS}g"):
        path = g.find(f"{NS}path")
        name = g.find(f"{NS}title").text
        out.append((name, path.get("d"), path.get("stroke"), path.get("stroke-dasharray")))
    return out


def points_of(root: ET.Element) -> list[tuple[str, str, str]]:
    return [
        (c.get("cx"), c.get("cy"), c.find(f"{NS}title").text) for c in root.iter(f"{NS}circle")
    ]


def texts_at(root: ET.Element, **attrs: str) -> list[tuple[str | None, str]]:
    """The (x or y, text) of the <text> elements carrying ``attrs``."""
    found = []
    for e in root.findall(f"{NS}text"):
        if all(e.get(k.replace("_", "-")) == v for k, v in attrs.items()):
            found.append((e.get("x") or e.get("transform"), "".join(e.itertext())))
    return found


def legend_of(root: ET.Element) -> list[tuple[str, str, str | None]]:
    """Legend rows: y, colour and dash of each legend swatch."""
    return [
        (e.get("y1"), e.get("stroke"), e.get("stroke-dasharray"))
        for e in root.findall(f"{NS}line")
        if e.get("stroke-width") == "2"
    ]


def test_three_teams_and_a_baseline_draw_these_steps_ticks_and_legend():
    svg = history_chart_svg(
        [
            Series("alpha", False, [(day(0), 0.5), (day(1), 0.8), (day(2), 0.6), (day(3), 0.9)]),
            Series("AutoGluon", True, [(day(0.5), 0.7)]),
            Series("beta", False, [(day(1), 0.4), (day(2.5), 0.75)]),
        ],
        title="History",
        y_label="accuracy",
    )
    root = ET.fromstring(svg)
    assert root.find(f"{NS}desc").text == (
        "Best accuracy so far over time for 3 teams; baselines dashed."
    )
    assert lines_of(root) == [
        ("alpha", "M58 228.8H218V81.2H538V32H538", "#0072B2", None),
        ("AutoGluon", "M138 130.4H538", "#6b6b6b", "6 4"),
        ("beta", "M218 278H458V105.8H538", "#D55E00", None),
    ]
    assert points_of(root) == [
        ("58", "228.8", "alpha: 0.5 (2025-03-01 09:00+00:00)"),
        ("218", "81.2", "alpha: 0.8 (2025-03-02 09:00+00:00)"),
        ("538", "32", "alpha: 0.9 (2025-03-04 09:00+00:00)"),
        ("138", "130.4", "AutoGluon: 0.7 (2025-03-01 21:00+00:00)"),
        ("218", "278", "beta: 0.4 (2025-03-02 09:00+00:00)"),
        ("458", "105.8", "beta: 0.75 (2025-03-03 21:00+00:00)"),
    ]
    assert texts_at(root, text_anchor="end", dy="0.32em") == [
        ("52", "0.4"),
        ("52", "0.5"),
        ("52", "0.6"),
        ("52", "0.7"),
        ("52", "0.8"),
        ("52", "0.9"),
    ]
    assert texts_at(root, y="294") == [("158", "Mar 02"), ("318", "Mar 03"), ("478", "Mar 04")]
    assert texts_at(root, transform="translate(14 155) rotate(-90)") == [
        ("translate(14 155) rotate(-90)", "accuracy")
    ]
    assert texts_at(root, data_role="direction") == [("8", "higher is better")]
    assert legend_of(root) == [
        ("38", "#0072B2", None),
        ("54", "#6b6b6b", "6 4"),
        ("70", "#D55E00", None),
    ]
    assert texts_at(root, fill="#222222", dy="0.32em") == [
        ("576", "alphaalpha"),
        ("576", "AutoGluon (baseline)AutoGluon"),
        ("576", "betabeta"),
    ]


def test_lower_is_better_seconds_apart_steps_down_on_a_padded_time_axis():
    svg = history_chart_svg(
        [
            Series(
                "rmse team",
                False,
                [
                    (T0, 3.0),
                    (T0 + timedelta(seconds=20), 2.5),
                    (T0 + timedelta(seconds=40), 2.7),
                ],
            )
        ],
        title="RMSE",
        y_label="rmse",
        higher_is_better=False,
        width=400,
        height=200,
    )
    root = ET.fromstring(svg)
    assert lines_of(root) == [("rmse team", "M137.56 32H138.44V158H218", "#0072B2", None)]
    assert [p[:2] for p in points_of(root)] == [("137.56", "32"), ("138.44", "158")]
    assert texts_at(root, y="174") == [("137.56", "Mar 01 09:00")]
    assert texts_at(root, data_role="direction") == [("8", "lower is better")]
    assert texts_at(root, text_anchor="end", dy="0.32em")[::5] == [("52", "2.5"), ("52", "3")]


def test_a_legend_with_no_room_for_every_team_summarizes_the_rest():
    many = [Series(f"team {i}", i % 7 == 0, [(day(i / 10), i / 100)]) for i in range(12)]
    root = ET.fromstring(history_chart_svg(many, title="T", y_label="y", height=180))
    colours = [stroke for _, _, stroke, _ in lines_of(root)]
    assert colours == [
        "#6b6b6b",
        "#0072B2",
        "#D55E00",
        "#009E73",
        "#CC79A7",
        "#E69F00",
        "#56B4E9",
        "#6b6b6b",
        "#000000",
        "#0072B2",
        "#D55E00",
        "#009E73",
    ]
    assert [y for y, _, _ in legend_of(root)] == ["38", "54", "70", "86", "102"]
    assert texts_at(root, x="576", fill="#444444") == [("576", "+7 more")]
    assert texts_at(root, y="154") == [
        ("114.32", "Mar 01 12:00"),
        ("222.95", "Mar 01 18:00"),
        ("331.59", "Mar 02 00:00"),
        ("440.23", "Mar 02 06:00"),
    ]
    assert texts_at(root, text_anchor="end", dy="0.32em")[1] == ("54", "0.025")


def test_an_empty_history_draws_an_empty_frame_with_its_message():
    root = ET.fromstring(history_chart_svg([Series("a", False, [])], title="T", y_label="y"))
    frame = root.findall(f"{NS}rect")[1]
    assert (frame.get("x"), frame.get("y"), frame.get("width"), frame.get("height")) == (
        "58",
        "32",
        "646",
        "246",
    )
    assert texts_at(root, text_anchor="middle") == [("381", "No scored submissions yet")]
    assert root.find(f"{NS}desc").text == (
        "Best y so far over time for 0 teams; baselines dashed."
    )
