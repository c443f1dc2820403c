"""A critical-difference diagram (Demšar 2006, "Statistical comparisons of classifiers over
multiple data sets", JMLR 7) of a track's teams, drawn with the helpers of :mod:`common.svg`.

Teams sit on an axis of their track mean, the best on the left as in Demšar's figures; each
is joined by a line to its name, the better half named on the left, the rest on the right.
Thick lines below the axis join the teams of each *clique*: a run of neighbours no two of
which are separated, from each pair's own interval
(docs/decisions/0029-pairwise-verdicts-from-each-pairs-differences.md). Demšar's single
critical-difference bar is not drawn: it needs one width shared by every pair, which
paired per-pair intervals do not have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from common.svg import (
    AXIS_COLOR,
    EDGE,
    PALETTE,
    TEXT_SIZE,
    _clean,
    _num,
    _open,
    _plot_top,
    _spread,
    _text,
    nice_ticks,
)
from common.svg_text import fit

NAME_WIDTH = 150  # px at most for a name (with its mean) on either side
ROW_HEIGHT = 18
CLIQUE_STEP = 7


class CdTeam(NamedTuple):
    name: str
    mean: float


def cd_svg(
    teams: Sequence[CdTeam],
    cliques: Sequence[tuple[int, int]],
    *,
    title: str,
    level: str,
    width: int = 640,
) -> str:
    """The diagram of ``teams`` (best mean first) with ``cliques`` (first, last) index runs
    of teams that cannot be separated (``level`` says by what test). No critical-difference
    bar: each pair of teams has an interval of its own, so no one width separates every
    pair. Empty with fewer than two teams."""
    if len(teams) < 2 or not all(math.isfinite(t.mean) for t in teams):
        return ""
    top = _plot_top(width, title)
    bar_y = top + 14
    axis_y = bar_y + 30
    clique_bottom = axis_y + 10 + CLIQUE_STEP * len(cliques)
    left_count = math.ceil(len(teams) / 2)
    rows = max(left_count, len(teams) - left_count)
    height = clique_bottom + 10 + rows * ROW_HEIGHT + 8
    desc = (
        f"{len(teams)} teams on their track mean, best on the left; "
        f"{len(cliques)} group(s) of teams that cannot be separated ({level})."
    )
    out, _ = _open(width, height, title, desc)
    x0, x1 = EDGE + NAME_WIDTH + 14, width - EDGE - NAME_WIDTH - 14
    means = [t.mean for t in teams]
    high = max(means)
    low = min(means)
    if high - low < 1e-12:
        low, high = low - 0.01, high + 0.01
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])

    def px(value: float) -> float:  # the best (highest) mean on the left
        return x0 + (high - value) / (high - low) * (x1 - x0)

    out.append(
        f'<line class="axis" x1="{_num(x0)}" y1="{axis_y}" x2="{_num(x1)}" y2="{axis_y}" '
        f'stroke="{AXIS_COLOR}"/>'
    )
    for tick in ticks:
        x = _num(px(tick))
        out.append(
            f'<line x1="{x}" y1="{axis_y - 4}" x2="{x}" y2="{axis_y}" stroke="{AXIS_COLOR}"/>'
        )
    # left to right: the axis runs from the highest mean down
    labels = sorted(((px(t), f"{t:.3g}") for t in ticks), key=lambda item: item[0])
    for x, label in _spread(labels, x0 - 20, x1 + 20):
        out.append(
            f'<text x="{_num(x)}" y="{axis_y - 8}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{label}</text>'
        )
    for k, (first, last) in enumerate(cliques):
        y = axis_y + 10 + CLIQUE_STEP * k
        out.append(
            f'<line class="clique" x1="{_num(px(teams[first].mean) + 3)}" y1="{y}" '
            f'x2="{_num(px(teams[last].mean) - 3)}" y2="{y}" stroke="{PALETTE[0]}" '
            f'stroke-width="4" stroke-linecap="round"><title>cannot be separated: '
            f"{_text(', '.join(t.name for t in teams[first : last + 1]))}</title></line>"
        )
    for i, team in enumerate(teams):
        left = i < left_count
        row = i if left else len(teams) - 1 - i
        y = clique_bottom + 10 + row * ROW_HEIGHT + ROW_HEIGHT / 2
        x = px(team.mean)
        edge = x0 - 8 if left else x1 + 8
        label = fit(f"{_clean(team.name)} ({team.mean:.4f})", NAME_WIDTH, TEXT_SIZE)
        out.append(
            f'<polyline class="team" points="{_num(x)},{axis_y} {_num(x)},{_num(y)} '
            f'{_num(edge)},{_num(y)}" fill="none" stroke="{AXIS_COLOR}"/>'
        )
        out.append(
            f'<text x="{_num(edge + (-4 if left else 4))}" y="{_num(y)}" dy="0.32em" '
            f'text-anchor="{"end" if left else "start"}" fill="#222222">{_text(label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
