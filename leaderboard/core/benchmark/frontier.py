"""Cost beside quality: the quality-against-CPU-time Pareto frontier of a track's methods.

Point p dominates point q when p is at least as good (quality, in the metric's direction)
and at most as costly (CPU-seconds), and strictly better in one of the two. The frontier is
the points no point dominates: the best quality each budget can buy. Two points equal in
both are both on it or both off it. A point without a quality or without a CPU time cannot
be placed: it is listed with a note and is neither on the frontier nor dominated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.intervals import finite_number


@dataclass(frozen=True, slots=True, kw_only=True)
class CostPoint:
    name: str
    quality: float | None
    cpu_seconds: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FrontierPoint:
    name: str
    quality: float | None
    cpu_seconds: float | None
    on_frontier: bool
    dominated_by: str | None  # the cheapest frontier point at least as good, when dominated
    note: str | None  # why the point cannot be placed


@dataclass(frozen=True, slots=True, kw_only=True)
class Frontier:
    points: tuple[FrontierPoint, ...]  # in input order
    frontier: tuple[str, ...]  # the frontier's names, cheapest first (then by name)
    higher_is_better: bool


def quality_cost_frontier(
    *, points: Sequence[CostPoint], higher_is_better: bool = True
) -> Frontier:
    """The frontier of ``points`` (module docstring). Refused with ValueError: a repeated
    name, a quality or CPU time that is NaN or infinite, a negative CPU time."""
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise ValueError("point names must be distinct")
    placed, quality, cost = [], [], []
    notes: dict[int, str] = {}
    for i, point in enumerate(points):
        if point.quality is None:
            notes[i] = "no quality score"
            continue
        if point.cpu_seconds is None:
            notes[i] = "no CPU time recorded"
            continue
        q = finite_number(point.quality, what=f"quality of {point.name!r}")
        c = finite_number(point.cpu_seconds, what=f"cpu_seconds of {point.name!r}")
        if c < 0:
            raise ValueError(f"cpu_seconds of {point.name!r} is negative ({c})")
        placed.append(i)
        quality.append(q if higher_is_better else -q)
        cost.append(c)

    q_arr, c_arr = np.asarray(quality, dtype=np.float64), np.asarray(cost, dtype=np.float64)
    on_frontier = np.zeros(len(placed), dtype=bool)
    dominated_by: dict[int, int] = {}
    if placed:
        order = np.lexsort((-q_arr, c_arr))  # cheapest first, best first at equal cost
        q_sorted, c_sorted = q_arr[order], c_arr[order]
        starts = np.flatnonzero(np.r_[True, c_sorted[1:] != c_sorted[:-1]])  # cost groups
        group = np.cumsum(np.r_[True, c_sorted[1:] != c_sorted[:-1]]) - 1
        best_so_far = np.maximum.accumulate(q_sorted)
        cheaper_best = np.r_[-np.inf, best_so_far[starts[1:] - 1]][group]  # strictly cheaper
        same_cost_best = q_sorted[starts][group]
        on_sorted = (q_sorted > cheaper_best) & (q_sorted == same_cost_best)
        on_frontier[order] = on_sorted
        # Frontier qualities rise with cost: the cheapest frontier point at least as good as
        # a dominated point is the first with quality >= its quality.
        frontier_sorted = order[on_sorted]
        first_at_least = np.searchsorted(q_arr[frontier_sorted], q_arr, side="left")
        for j in np.flatnonzero(~on_frontier):
            dominated_by[j] = int(frontier_sorted[first_at_least[j]])

    out: list[FrontierPoint] = []
    position = {i: j for j, i in enumerate(placed)}
    for i, point in enumerate(points):
        j = position.get(i)
        out.append(
            FrontierPoint(
                name=point.name,
                quality=None if point.quality is None else float(point.quality),
                cpu_seconds=None if point.cpu_seconds is None else float(point.cpu_seconds),
                on_frontier=j is not None and bool(on_frontier[j]),
                dominated_by=(
                    points[placed[dominated_by[j]]].name
                    if j is not None and j in dominated_by
                    else None
                ),
                note=notes.get(i),
            )
        )
    frontier = sorted(
        (j for j in range(len(placed)) if on_frontier[j]),
        key=lambda j: (c_arr[j], points[placed[j]].name),
    )
    return Frontier(
        points=tuple(out),
        frontier=tuple(points[placed[j]].name for j in frontier),
        higher_is_better=higher_is_better,
    )
