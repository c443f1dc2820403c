"""The transfer-matrix decomposition on hand cases, edge cases and bad input (no Django)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.core.benchmark.decomposition import (
    BenchmarkAlgorithm,
    BenchmarkTask,
    DeltaCell,
    decompose_transfer,
)
from tests.leaderboard_tests.benchmark_synthetic import double_centered, synthetic

B = 400


def algorithms(*names, teams=None):
    teams = teams or [None] * len(names)
    return [BenchmarkAlgorithm(name=n, team=t) for n, t in zip(names, teams, strict=True)]


def tasks(*names, owners=None, higher_is_better=True):
    owners = owners or [None] * len(names)
    return [
        BenchmarkTask(name=n, owner=o, higher_is_better=higher_is_better)
        for n, o in zip(names, owners, strict=True)
    ]


def exact_cells(table, *, algorithm_names, task_names, resamples=B):
    """Cells whose row resamples all equal the delta: no row noise at all."""
    return [
        DeltaCell(
            algorithm=algorithm_names[a],
            task=task_names[t],
            delta=float(table[a][t]),
            resamples=np.full(resamples, float(table[a][t])),
        )
        for a in range(len(algorithm_names))
        for t in range(len(task_names))
        if table[a][t] is not None
    ]


def by_name(entries, key):
    return {getattr(e, key): e for e in entries}


def test_two_algorithms_on_two_tasks_exact_effects_interaction_and_share():
    table = [[4.0, 2.0], [0.0, 2.0]]
    result = decompose_transfer(
        algorithms=algorithms("a1", "a2"),
        tasks=tasks("t1", "t2"),
        cells=exact_cells(table, algorithm_names=["a1", "a2"], task_names=["t1", "t2"]),
    )
    assert result.mean == pytest.approx(2.0)
    assert [e.effect for e in result.algorithm_effects] == pytest.approx([1.0, -1.0])
    assert [e.adjusted_delta for e in result.algorithm_effects] == pytest.approx([3.0, 1.0])
    assert [e.effect for e in result.task_difficulty] == pytest.approx([0.0, 0.0], abs=1e-12)
    fits = {(c.algorithm, c.task): c.interaction for c in result.cell_fits}
    assert fits == pytest.approx(
        {("a1", "t1"): 1.0, ("a1", "t2"): -1.0, ("a2", "t1"): -1.0, ("a2", "t2"): 1.0}
    )
    # Deltas around their mean 2: 2, 0, -2, 0 (SS 8); interactions +-1 (SS 4).
    assert result.interaction_share == pytest.approx(0.5)
    assert result.residual_df == 1
    # One residual degree of freedom: the error's variance would rest on a single number.
    for effect in (*result.algorithm_effects, *result.task_difficulty):
        assert effect.ci is None and "leaves 1 residual degree of freedom" in effect.reason
    assert result.mean_ci is None and "needs at least 3" in result.mean_reason
    assert result.interaction_share_ci is None and "describes these cells" in (
        result.interaction_share_reason
    )
    # Cells whose resamples never move measure no row noise: declined, not 0.
    assert result.noise_share is None
    assert "same delta on every row resample" in result.noise_share_reason


def test_a_missing_cell_is_placed_by_the_model_and_leaves_no_interaction():
    # Observed 1, 3 / 0, -: the fitted table is [[1, 3], [0, 2]] (0 + 3 - 1 for the gap).
    table = [[1.0, 3.0], [0.0, None]]
    result = decompose_transfer(
        algorithms=algorithms("a1", "a2"),
        tasks=tasks("t1", "t2"),
        cells=exact_cells(table, algorithm_names=["a1", "a2"], task_names=["t1", "t2"]),
    )
    assert result.mean == pytest.approx(1.5)
    assert [e.effect for e in result.algorithm_effects] == pytest.approx([0.5, -0.5])
    assert [e.effect for e in result.task_difficulty] == pytest.approx([-1.0, 1.0])
    assert [e.n_tasks for e in result.algorithm_effects] == [2, 1]
    assert result.residual_df == 0
    assert result.interaction_share is None and result.noise_share is None
    assert "every cell is needed" in result.note
    assert all(c.interaction == pytest.approx(0.0, abs=1e-12) for c in result.cell_fits)


def test_a_lower_is_better_task_is_turned_so_positive_means_better_than_the_baseline():
    rng = np.random.default_rng(5)
    table = rng.normal(0, 1, (3, 4))
    names_a, names_t = ["a1", "a2", "a3"], ["t1", "t2", "t3", "t4"]
    higher = decompose_transfer(
        algorithms=algorithms(*names_a),
        tasks=tasks(*names_t),
        cells=exact_cells(table, algorithm_names=names_a, task_names=names_t),
    )
    # The same deltas written as rmse differences (score - baseline: lower is better).
    lower = decompose_transfer(
        algorithms=algorithms(*names_a),
        tasks=tasks(*names_t, higher_is_better=False),
        cells=exact_cells(-table, algorithm_names=names_a, task_names=names_t),
    )
    assert [e.effect for e in lower.algorithm_effects] == pytest.approx(
        [e.effect for e in higher.algorithm_effects]
    )
    assert lower.interaction_share == pytest.approx(higher.interaction_share)
    assert [c.delta for c in lower.cell_fits] == pytest.approx(table.ravel().tolist())


def test_an_algorithm_on_tasks_nobody_else_ran_is_not_compared_and_changes_nothing():
    table = [[0.3, 0.1, None], [0.2, 0.4, None], [None, None, 0.9]]
    names_a, names_t = ["a1", "a2", "alone"], ["t1", "t2", "private"]
    result = decompose_transfer(
        algorithms=algorithms(*names_a, "idle"),
        tasks=tasks(*names_t, "unrun"),
        cells=exact_cells(table, algorithm_names=names_a, task_names=names_t),
    )
    effects = by_name(result.algorithm_effects, "algorithm")
    assert effects["alone"].effect is None and effects["alone"].ci is None
    assert "not comparable" in effects["alone"].note
    assert effects["idle"].effect is None and "no cell" in effects["idle"].note
    difficulty = by_name(result.task_difficulty, "task")
    assert difficulty["private"].effect is None and "not comparable" in difficulty["private"].note
    assert difficulty["unrun"].effect is None and "no cell" in difficulty["unrun"].note
    assert result.excluded_cells == (("alone", "private"),)

    without = decompose_transfer(
        algorithms=algorithms("a1", "a2"),
        tasks=tasks("t1", "t2"),
        cells=exact_cells(
            [row[:2] for row in table[:2]], algorithm_names=["a1", "a2"], task_names=["t1", "t2"]
        ),
    )
    assert result.mean == pytest.approx(without.mean)
    assert [effects[n].effect for n in ("a1", "a2")] == pytest.approx(
        [e.effect for e in without.algorithm_effects]
    )
    assert result.interaction_share == pytest.approx(without.interaction_share)


def test_the_largest_group_of_cells_is_fitted_when_the_matrix_falls_apart():
    # {a1, a2} x {t1} (2 cells) and {a3} x {t2, t3} (2 cells, 1 algorithm): the tie on cells
    # goes to the group with more algorithms.
    table = [[0.1, None, None], [0.2, None, None], [None, 0.3, 0.5]]
    result = decompose_transfer(
        algorithms=algorithms("a1", "a2", "a3"),
        tasks=tasks("t1", "t2", "t3"),
        cells=exact_cells(table, algorithm_names=["a1", "a2", "a3"], task_names=["t1", "t2", "t3"]),
    )
    assert [e.effect is not None for e in result.algorithm_effects] == [True, True, False]
    assert [e.effect for e in result.algorithm_effects[:2]] == pytest.approx([-0.05, 0.05])


def test_one_algorithm_has_effect_zero_by_definition_and_its_mean_delta_beside():
    table = [[0.1, 0.3, -0.1]]
    result = decompose_transfer(
        algorithms=algorithms("only"),
        tasks=tasks("t1", "t2", "t3"),
        cells=exact_cells(table, algorithm_names=["only"], task_names=["t1", "t2", "t3"]),
    )
    (effect,) = result.algorithm_effects
    assert effect.effect == pytest.approx(0.0, abs=1e-12)
    assert effect.adjusted_delta == pytest.approx(0.1)
    assert "only algorithm" in effect.note
    assert [e.effect for e in result.task_difficulty] == pytest.approx([0.0, 0.2, -0.2])
    assert result.interaction_share is None and result.residual_df == 0


def test_one_task_places_the_effects_but_gives_no_interval():
    rng = np.random.default_rng(2)
    cells = [
        DeltaCell(algorithm=n, task="t", delta=d, resamples=d + rng.normal(0, 0.01, B))
        for n, d in (("a1", 0.2), ("a2", 0.0), ("a3", -0.05))
    ]
    result = decompose_transfer(
        algorithms=algorithms("a1", "a2", "a3"), tasks=tasks("t"), cells=cells
    )
    assert [e.effect for e in result.algorithm_effects] == pytest.approx([0.15, -0.05, -0.1])
    # One task: nothing says how the algorithms' differences vary from task to task.
    assert result.residual_df == 0
    assert all(e.ci is None and "0 residual degrees" in e.reason for e in result.algorithm_effects)
    (task,) = result.task_difficulty
    assert task.effect == pytest.approx(0.0, abs=1e-12) and "only task" in task.note
    assert result.interaction_share is None


def test_no_cell_at_all_is_an_empty_decomposition_not_an_error():
    result = decompose_transfer(
        algorithms=algorithms("a1", teams=["red"]), tasks=tasks("t1", owners=["red"]), cells=[]
    )
    assert result.mean is None and result.cell_fits == ()
    assert result.algorithm_effects[0].note.startswith("no cell")
    assert result.home_advantage[0].value is None


def home_case(*, planted, own_only=False, interaction=0.0):
    """4 algorithms (teams red, blue, green, none) on 6 tasks (red owns t0, t1; blue t2):
    additive deltas, red's algorithm ``planted`` higher on red's tasks."""
    names_a, names_t = ["r", "b", "g", "x"], [f"t{i}" for i in range(6)]
    rng = np.random.default_rng(11)
    table = (
        np.array([0.1, 0.0, -0.05, -0.05])[:, None]
        + rng.normal(0, 0.1, 6)[None, :]
        + double_centered(rng, (4, 6), interaction)
    )
    table[0, :2] += planted
    table = table.tolist()
    if own_only:  # only red's algorithm ran red's tasks
        for a in (1, 2, 3):
            table[a][0] = table[a][1] = None
    return decompose_transfer(
        algorithms=algorithms(*names_a, teams=["red", "blue", "green", None]),
        tasks=tasks(*names_t, owners=["red", "red", "blue", None, None, None]),
        cells=exact_cells(table, algorithm_names=names_a, task_names=names_t),
    )


def test_home_advantage_recovers_a_planted_advantage_exactly_without_noise():
    result = home_case(planted=0.07)
    red, blue = result.home_advantage
    assert (red.team, blue.team) == ("red", "blue")  # green contributed no task
    assert red.value == pytest.approx(0.07, abs=1e-9)
    assert (red.own_cells, red.other_cells) == (2, 4)
    assert blue.value == pytest.approx(0.0, abs=1e-9) and blue.note is None
    assert home_case(planted=0.0).home_advantage[0].value == pytest.approx(0.0, abs=1e-9)
    # An interaction of the size of the advantage blurs it, but does not hide it.
    blurred = home_case(planted=0.07, interaction=0.02).home_advantage[0]
    assert 0.03 < blurred.value < 0.11
    assert blurred.ci[0] <= blurred.value <= blurred.ci[1]


def test_home_advantage_says_why_it_is_missing():
    red, blue = home_case(planted=0.07, own_only=True).home_advantage
    assert red.value is None and "only its own algorithms ran" in red.note
    assert blue.value is not None

    table = [[0.1, 0.2], [0.0, 0.3]]
    result = decompose_transfer(
        algorithms=algorithms("a", "b", teams=["red", "blue"]),
        tasks=tasks("t1", "t2", owners=["red", "red"]),
        cells=exact_cells(table, algorithm_names=["a", "b"], task_names=["t1", "t2"]),
    )
    (red,) = result.home_advantage
    assert red.value is None and "only the tasks it contributed" in red.note

    result = decompose_transfer(
        algorithms=algorithms("a", "b", teams=["red", "blue"]),
        tasks=tasks("t1", "t2", "t3", owners=["red", None, None]),
        cells=exact_cells(
            [[None, 0.2, 0.1], [0.0, 0.3, 0.2]],
            algorithm_names=["a", "b"],
            task_names=["t1", "t2", "t3"],
        ),
    )
    (red,) = result.home_advantage
    assert red.value is None and "none of the tasks it contributed" in red.note


def test_a_pattern_with_no_interaction_left_gives_no_share_and_no_home_advantage():
    # A staircase: every cell is needed to place the effects (residual df 0).
    table = [[0.1, 0.2, None], [None, 0.3, 0.1], [None, None, 0.4]]
    result = decompose_transfer(
        algorithms=algorithms("a", "b", "c", teams=["red", "blue", "green"]),
        tasks=tasks("t1", "t2", "t3", owners=["red", None, None]),
        cells=exact_cells(table, algorithm_names=["a", "b", "c"], task_names=["t1", "t2", "t3"]),
    )
    assert result.residual_df == 0 and result.interaction_share is None
    assert all(e.effect is not None for e in result.algorithm_effects)
    (red,) = result.home_advantage
    assert red.value is None


def test_bad_input_is_refused_with_a_message_naming_it():
    algs, tsks = algorithms("a1", "a2"), tasks("t1", "t2")

    def cell(algorithm="a1", task="t1", delta=0.1, resamples=None):
        return DeltaCell(
            algorithm=algorithm,
            task=task,
            delta=delta,
            resamples=np.full(5, 0.1) if resamples is None else resamples,
        )

    cases = [
        ([cell(delta=float("nan"))], "delta is nan"),
        ([cell(delta=None)], "must be a number"),
        ([cell(resamples=np.array([0.1, np.inf, 0.2]))], "holds inf at position 1"),
        ([cell(resamples=np.zeros((2, 2)))], "one-dimensional"),
        ([cell(resamples=np.zeros(0))], "no resamples"),
        ([cell(resamples=["x"])], "array of numbers"),
        ([cell(), cell(task="t2", resamples=np.zeros(4))], "has 4 values, expected 5"),
        ([cell(algorithm="ghost")], "unknown algorithm 'ghost'"),
        ([cell(task="ghost")], "unknown task 'ghost'"),
        ([cell(), cell()], "given twice"),
    ]
    for cells, message in cases:
        with pytest.raises(ValueError, match=message):
            decompose_transfer(algorithms=algs, tasks=tsks, cells=cells)
    with pytest.raises(ValueError, match="listed twice"):
        decompose_transfer(algorithms=algorithms("a1", "a1"), tasks=tsks, cells=[])
    for alpha in (0, 1, -0.1, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            decompose_transfer(algorithms=algs, tasks=tsks, cells=[cell()], alpha=alpha)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_algorithms=st.integers(2, 6), n_tasks=st.integers(2, 5))
def test_permuting_algorithms_permutes_their_effects_and_intervals(seed, n_algorithms, n_tasks):
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, 0.1, (n_algorithms, n_tasks))
    observed = rng.random(truth.shape) < 0.8
    observed[:, 0] = True  # connected through the first task
    case = synthetic(rng=rng, truth=truth, observed=observed, n_rows=50, n_resamples=60)
    order = rng.permutation(n_algorithms)
    first = decompose_transfer(algorithms=case.algorithms, tasks=case.tasks, cells=case.cells)
    second = decompose_transfer(
        algorithms=[case.algorithms[i] for i in order],
        tasks=case.tasks,
        cells=[case.cells[i] for i in rng.permutation(len(case.cells))],
    )
    assert [e.algorithm for e in second.algorithm_effects] == [
        case.algorithms[i].name for i in order
    ]
    for i, effect in zip(order, second.algorithm_effects, strict=True):
        before = first.algorithm_effects[i]
        assert effect.effect == pytest.approx(before.effect, abs=1e-9)
        assert effect.ci == pytest.approx(before.ci, abs=1e-9)
    for after, before in zip(second.task_difficulty, first.task_difficulty, strict=True):
        assert after.effect == pytest.approx(before.effect, abs=1e-9)
        assert after.ci == pytest.approx(before.ci, abs=1e-9)
    if first.interaction_share is not None:
        assert second.interaction_share == pytest.approx(first.interaction_share, abs=1e-9)


def test_the_callers_arrays_are_left_as_they_were():
    rng = np.random.default_rng(4)
    case = synthetic(rng=rng, truth=rng.normal(0, 0.1, (3, 3)), n_rows=40, n_resamples=30)
    lower = [BenchmarkTask(name=t.name, higher_is_better=False) for t in case.tasks]
    before = [c.resamples.copy() for c in case.cells]
    decompose_transfer(algorithms=case.algorithms, tasks=lower, cells=case.cells)
    for cell, copy in zip(case.cells, before, strict=True):
        np.testing.assert_array_equal(cell.resamples, copy)


@pytest.mark.parametrize("size", [1e-200, 1e200])
def test_extreme_deltas_give_the_same_decomposition_in_their_units(size):
    # RMSE deltas of wild regression predictions: squares would overflow (or underflow).
    rng = np.random.default_rng(12)
    case = synthetic(rng=rng, truth=rng.normal(0, 0.1, (4, 5)), n_rows=60, n_resamples=50)
    scaled = [
        DeltaCell(
            algorithm=c.algorithm, task=c.task, delta=c.delta * size, resamples=c.resamples * size
        )
        for c in case.cells
    ]
    plain = decompose_transfer(algorithms=case.algorithms, tasks=case.tasks, cells=case.cells)
    extreme = decompose_transfer(algorithms=case.algorithms, tasks=case.tasks, cells=scaled)
    assert extreme.interaction_share == pytest.approx(plain.interaction_share, rel=1e-9)
    assert extreme.noise_share == pytest.approx(plain.noise_share, rel=1e-9)
    for a, b in zip(extreme.algorithm_effects, plain.algorithm_effects, strict=True):
        assert a.effect == pytest.approx(b.effect * size, rel=1e-9)
        assert a.ci == pytest.approx((b.ci[0] * size, b.ci[1] * size), rel=1e-9)


def test_team_ids_may_be_any_hashable_even_tuples():
    rng = np.random.default_rng(13)
    table = rng.normal(0, 0.1, (3, 4))
    table[0, :2] += 0.05
    red, blue = ("org", 1), ("org", 2)
    result = decompose_transfer(
        algorithms=algorithms("r", "b", "x", teams=[red, blue, None]),
        tasks=tasks("t0", "t1", "t2", "t3", owners=[red, red, blue, None]),
        cells=exact_cells(
            table, algorithm_names=["r", "b", "x"], task_names=["t0", "t1", "t2", "t3"]
        ),
        alpha=np.float32(0.1),
    )
    assert [h.team for h in result.home_advantage] == [red, blue]
    assert [h.own_cells for h in result.home_advantage] == [2, 1]


def test_effects_and_intervals_are_the_textbook_two_way_anova_with_sum_contrasts():
    # The same model written in statsmodels' formula interface (patsy's Sum coding), on a
    # 4 x 5 table with two cells missing: every effect and every interval agrees.
    import pandas as pd
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(21)
    table = rng.normal(0, 0.1, (4, 5))
    table[1, 2] = table[3, 0] = np.nan
    names_a, names_t = ["a0", "a1", "a2", "a3"], ["t0", "t1", "t2", "t3", "t4"]
    result = decompose_transfer(
        algorithms=algorithms(*names_a),
        tasks=tasks(*names_t),
        cells=[
            DeltaCell(
                algorithm=names_a[a],
                task=names_t[t],
                delta=float(table[a, t]),
                resamples=table[a, t] + rng.normal(0, 0.01, 50),
            )
            for a, t in zip(*np.nonzero(~np.isnan(table)), strict=True)
        ],
        alpha=0.1,
    )
    frame = pd.DataFrame(
        [
            {"y": table[a, t], "algorithm": names_a[a], "task": names_t[t]}
            for a, t in zip(*np.nonzero(~np.isnan(table)), strict=True)
        ]
    )
    fit = smf.ols("y ~ C(algorithm, Sum) + C(task, Sum)", data=frame).fit()
    assert result.residual_df == fit.df_resid == 18 - 4 - 5 + 1
    assert result.mean == pytest.approx(fit.params["Intercept"])
    bounds = fit.conf_int(alpha=0.1)
    for i, effect in enumerate(result.algorithm_effects[:3]):  # the last is minus their sum
        name = f"C(algorithm, Sum)[S.a{i}]"
        assert effect.effect == pytest.approx(fit.params[name], abs=1e-12)
        assert effect.ci == pytest.approx(tuple(bounds.loc[name]), abs=1e-12)
    last = fit.t_test(" - ".join(["0", *(f"C(algorithm, Sum)[S.a{i}]" for i in range(3))]))
    assert result.algorithm_effects[3].effect == pytest.approx(float(last.effect[0]), abs=1e-12)
    assert result.algorithm_effects[3].ci == pytest.approx(
        tuple(np.asarray(last.conf_int(alpha=0.1))[0]), abs=1e-12
    )
    assert result.residual_sd == pytest.approx(np.sqrt(fit.scale))


def test_a_home_advantage_without_freedom_left_is_declined_with_the_reason():
    # 3 algorithms x 2 tasks: the two-way model keeps 2 residual degrees of freedom (its
    # intervals are given), a home indicator takes one of them (its interval is not).
    rng = np.random.default_rng(3)
    table = rng.normal(0, 0.1, (3, 2))
    result = decompose_transfer(
        algorithms=algorithms("r", "b", "g", teams=["red", "blue", "green"]),
        tasks=tasks("t1", "t2", owners=["red", None]),
        cells=[
            DeltaCell(
                algorithm=a,
                task=t,
                delta=float(table[i, j]),
                resamples=table[i, j] + rng.normal(0, 0.01, 40),
            )
            for i, a in enumerate("rbg")
            for j, t in enumerate(("t1", "t2"))
        ],
    )
    assert result.residual_df == 2 and result.home_residual_df == 1
    assert all(e.ci is not None and e.reason is None for e in result.algorithm_effects)
    (red,) = result.home_advantage
    assert red.value is not None and red.ci is None
    assert "home advantages" in red.reason and "1 residual degree of freedom" in red.reason


def test_a_table_the_model_fits_exactly_gives_no_interval():
    # Additive deltas with no interaction and no noise: 3 residual degrees of freedom, but
    # nothing left to measure the error by.
    table = np.array([0.1, 0.0, -0.1])[:, None] + np.array([0.2, -0.1, 0.0])[None, :]
    result = decompose_transfer(
        algorithms=algorithms("a", "b", "c"),
        tasks=tasks("t1", "t2", "t3"),
        cells=exact_cells(table, algorithm_names=["a", "b", "c"], task_names=["t1", "t2", "t3"]),
    )
    assert result.residual_df == 4
    assert [e.effect for e in result.algorithm_effects] == pytest.approx([0.1, 0.0, -0.1])
    for effect in result.algorithm_effects:
        assert effect.ci is None and "fits every cell exactly" in effect.reason
