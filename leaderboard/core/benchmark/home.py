"""A team's home advantage: its algorithms on the tasks it contributed, beyond the additive
model of the transfer matrix.

For each team k with an algorithm and a contributed task, ``h_k`` marks the cells of k's
algorithms on k's tasks. The additive model gains one coefficient per team,

    delta = mean + alpha[a] + tau[t] + sum_k eta_k h_k[a, t] + interaction,

fitted jointly by least squares: `linear_model` fits the two-way model with one indicator
column per team (statsmodels' OLS), eta_k its coefficient, with a t interval on that model's
residual degrees of freedom. With R the additive model's residual-maker (``R y`` is its
interaction), Frisch-Waugh-Lovell gives the same eta as

    eta = G^-1 g,    G[k, l] = h_k' R h_l,    g[k] = h_k' R y,

which is how `home_plan` decides which teams get a coefficient: G's pivots say whether a
team's indicator keeps any freedom once the effects and the teams before it are placed
(``R h_l = h_l - mean_l - alpha_l - tau_l``: G needs sums of those effects only). In a
complete matrix with one team, eta is (mean interaction on its tasks - mean on the others)
/ (1 - 1/A).
It is measured on the interaction rather than the raw delta because a raw difference
"own tasks minus other tasks" would count the tasks' own effect (a team's data may simply be
where the baseline is weak, for every algorithm) as the team's advantage; fitting all teams
jointly keeps one team's advantage out of the tasks' effects against which another's is read.

A coefficient exists when the indicator is not explained by the additive model: the team's
algorithms ran some of its tasks and some other task, another algorithm ran one of its tasks,
and the cells leave freedom for an interaction. Teams whose indicators are (jointly)
explained by the model and the teams before them get no value and a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leaderboard.core.benchmark.additive import AdditiveFit, fit_additive
from leaderboard.core.ranking import TeamId

_PIVOT = 1e-9  # a team's indicator keeping less than this share of its cells: no coefficient


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeAdvantage:
    team: TeamId
    value: float | None  # extra delta of its algorithms on the tasks it contributed
    ci: tuple[float, float] | None
    own_cells: int  # cells of its algorithms on its tasks (in the fitted group)
    other_cells: int  # cells of its algorithms on other tasks
    note: str | None  # why there is no value, when there is none
    reason: str | None = None  # why ci is None (the note when there is no value)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HomePlan:
    """Which teams get a coefficient, and why the others do not."""

    teams: tuple[TeamId, ...]  # every team with an algorithm and a contributed task
    indicators: np.ndarray  # (K, A, T) h_k of the teams with a coefficient
    estimated: tuple[int, ...]  # their positions in ``teams``
    own_cells: tuple[int, ...]  # per team
    other_cells: tuple[int, ...]
    notes: dict[int, str]  # position in ``teams`` -> why there is no coefficient


def home_teams(
    algorithm_teams: Sequence[TeamId | None], task_owners: Sequence[TeamId | None]
) -> tuple[TeamId, ...]:
    """Teams with an algorithm that contributed a task, in the order of their algorithms."""
    owners = {o for o in task_owners if o is not None}
    teams: dict[TeamId, None] = {}
    for team in algorithm_teams:
        if team is not None and team in owners:
            teams.setdefault(team, None)
    return tuple(teams)


def home_plan(
    *,
    teams: tuple[TeamId, ...],
    row_teams: Sequence[TeamId | None],
    column_owners: Sequence[TeamId | None],
    observed: np.ndarray,
) -> HomePlan:
    """Plan the coefficients for ``teams`` on the fitted group: ``row_teams`` and
    ``column_owners`` are its algorithms' teams and its tasks' owners, ``observed`` its cells."""
    notes: dict[int, str] = {}
    own_counts, other_counts, candidates, indicators = [], [], [], []
    for k, team in enumerate(teams):
        # Compared one by one: a team id may be a tuple, which numpy would broadcast.
        rows = np.array([t == team for t in row_teams], dtype=bool)
        owned = np.array([o == team for o in column_owners], dtype=bool)
        own = np.outer(rows, owned) & observed
        own_counts.append(int(own.sum()))
        other_counts.append(int((observed & rows[:, None]).sum()) - own_counts[-1])
        if not rows.any():
            notes[k] = "its algorithms have no cell in the fitted group of cells"
        elif not own.any():
            notes[k] = "its algorithms ran none of the tasks it contributed"
        elif other_counts[-1] == 0:
            notes[k] = "its algorithms ran only the tasks it contributed: nothing to compare with"
        elif not (observed[:, own.any(axis=0)] & ~rows[:, None]).any():
            notes[k] = (
                "not identifiable: only its own algorithms ran the tasks it contributed, so "
                "those tasks' effects absorb any advantage"
            )
        else:
            candidates.append(k)
            indicators.append(own.astype(np.float64))
    estimated: list[int] = []
    kept: list[np.ndarray] = []
    if candidates:
        stack = np.stack(indicators)
        weights = np.ones((1, observed.shape[1]))
        gram = home_gram(
            indicators=stack,
            weights=weights,
            indicator_fit=fit_additive(values=stack, observed=observed),
        )[0]
        for c, k in enumerate(candidates):
            chosen = [candidates.index(j) for j in estimated]
            pivot = gram[c, c]
            if chosen:
                block = gram[np.ix_(chosen, chosen)]
                cross = gram[chosen, c]
                pivot -= cross @ np.linalg.solve(block, cross)
            if pivot > _PIVOT * own_counts[k]:
                estimated.append(k)
                kept.append(indicators[c])
            else:
                notes[k] = (
                    "not identifiable: no interaction is left to compare once the algorithm "
                    "and task effects (and the home advantages of the teams listed before it) "
                    "are placed"
                )
    return HomePlan(
        teams=teams,
        indicators=np.stack(kept) if kept else np.zeros((0, *observed.shape)),
        estimated=tuple(estimated),
        own_cells=tuple(own_counts),
        other_cells=tuple(other_counts),
        notes=notes,
    )


def home_gram(
    *, indicators: np.ndarray, weights: np.ndarray, indicator_fit: AdditiveFit
) -> np.ndarray:
    """(S, K, K) G[k, l] = h_k' W R h_l for the (K, A, T) indicators under (S, T) task
    weights, from the effects of the indicators fitted with those weights (S, K)."""
    per_task = indicators.sum(axis=1)  # (K, T): sum_a h_k[a, t]
    overlap = np.einsum("kat,lat->klt", indicators, indicators)
    per_algorithm = (weights @ indicators.reshape(-1, indicators.shape[-1]).T).reshape(
        weights.shape[0], *indicators.shape[:2]
    )  # (S, K, A): sum_t w[t] h_k[a, t]
    task_weighted = weights[:, None, :] * per_task  # (S, K, T)
    return (
        np.einsum("st,klt->skl", weights, overlap)
        - task_weighted.sum(axis=-1)[:, :, None] * indicator_fit.mean[:, None, :]
        - per_algorithm @ indicator_fit.algorithm.transpose(0, 2, 1)
        - task_weighted @ indicator_fit.task.transpose(0, 2, 1)
    )


def home_advantages(
    *,
    plan: HomePlan,
    values: np.ndarray,
    intervals: list[tuple[float, float] | None],
    reason: str | None,
) -> tuple[HomeAdvantage, ...]:
    """The rows of every planned team: ``values`` and ``intervals`` per estimated team
    (an interval None where ``reason`` says why)."""
    position = {k: i for i, k in enumerate(plan.estimated)}
    out = []
    for k, team in enumerate(plan.teams):
        i = position.get(k)
        ci = None if i is None or not intervals else intervals[i]
        note = plan.notes.get(k)
        out.append(
            HomeAdvantage(
                team=team,
                value=None if i is None else float(values[i]),
                ci=ci,
                own_cells=plan.own_cells[k],
                other_cells=plan.other_cells[k],
                note=note,
                reason=None if ci is not None else (note or reason),
            )
        )
    return tuple(out)
