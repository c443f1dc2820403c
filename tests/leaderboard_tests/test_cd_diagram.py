"""The critical-difference diagram (common.cd_svg) and its cliques (pairwise.cliques)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from common.cd_svg import CdTeam, cd_svg
from leaderboard.core.benchmark.pairwise import cliques

SVG = "{http://www.w3.org/2000/svg}"


def separated(n, apart):
    out = np.zeros((n, n), dtype=bool)
    for i, j in apart:
        out[i, j] = out[j, i] = True
    return out


def test_cliques_are_the_longest_runs_nobody_in_which_is_separated():
    # a b c d e: a-c, a-d, a-e, b-d, b-e, c-e separated -> {a, b}, {b, c}, {c, d}, {d, e}
    apart = [(0, 2), (0, 3), (0, 4), (1, 3), (1, 4), (2, 4)]
    assert cliques(separated(5, apart)) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert cliques(separated(4, [])) == [(0, 3)]  # nobody told apart: one bar
    everyone = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    assert cliques(separated(4, everyone)) == []  # all told apart: no bar
    # a run is cut where any two inside it are separated, not only its ends
    assert cliques(separated(3, [(0, 1)])) == [(1, 2)]


def test_the_diagram_is_well_formed_escaped_and_draws_each_team_and_clique():
    teams = [
        CdTeam("owls", 0.91),
        CdTeam('<script>alert("x")</script>', 0.90),
        CdTeam("crows\x1b", 0.85),
        CdTeam("hawks", 0.70),
    ]
    svg = cd_svg(teams, [(0, 2)], title="Track & co", level="paired t, Bonferroni, 95%")
    root = ET.fromstring(svg)  # well-formed XML, no raw markup from the names
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert len(root.findall(f"{SVG}polyline")) == 4
    assert not [e for e in root.iter(f"{SVG}line") if e.get("class") == "critical-difference"]
    assert [e.get("class") for e in root.iter(f"{SVG}line")].count("clique") == 1
    width = float(root.get("width"))
    for x in re.findall(r'x[12]?="(-?[0-9.]+)"', svg):
        assert 0 <= float(x) <= width
    # the best team is on the left
    points = [e.get("points").split()[0] for e in root.findall(f"{SVG}polyline")]
    xs = [float(p.split(",")[0]) for p in points]
    assert xs == sorted(xs)


def test_fewer_than_two_teams_draw_nothing():
    assert cd_svg([CdTeam("solo", 0.5)], [], title="t", level="l") == ""
