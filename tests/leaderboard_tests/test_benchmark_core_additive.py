"""The additive two-way fit of the benchmark core against a plain least-squares reference
(no Django, no database)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.core.benchmark.additive import components, fit_additive, interaction


def reference_fit(y, observed, weights):
    """Least squares on the dummy-coded design (numpy's lstsq, minimum-norm), then the
    constrained effects read off the fitted full table: the estimable quantities are the
    same whatever the parametrization, so this is an independent oracle."""
    n_algorithms, n_tasks = observed.shape
    cells = np.argwhere(observed)
    design = np.zeros((len(cells), 1 + n_algorithms + n_tasks))
    design[:, 0] = 1
    design[np.arange(len(cells)), 1 + cells[:, 0]] = 1
    design[np.arange(len(cells)), 1 + n_algorithms + cells[:, 1]] = 1
    root = np.sqrt(weights[cells[:, 1]])
    theta = np.linalg.lstsq(design * root[:, None], y[observed] * root, rcond=None)[0]
    table = theta[0] + theta[1 : 1 + n_algorithms][:, None] + theta[1 + n_algorithms :][None, :]
    level = table.mean(axis=0)  # mean + tau[t] (alpha sums to 0)
    mean = np.sum(weights * level) / np.sum(weights)
    alpha = table[:, 0] - level[0]
    return mean, alpha, level - mean, np.where(observed, y - table, 0.0)


def connected_pattern(rng, n_algorithms, n_tasks, density):
    """A random pattern made connected by a staircase path through every row and column."""
    observed = rng.random((n_algorithms, n_tasks)) < density
    a = t = 0
    observed[0, 0] = True
    while (a, t) != (n_algorithms - 1, n_tasks - 1):
        if t == n_tasks - 1 or (a < n_algorithms - 1 and rng.random() < 0.5):
            a += 1
        else:
            t += 1
        observed[a, t] = True
    return observed


@settings(max_examples=60, deadline=None)
@given(
    n_algorithms=st.integers(1, 7),
    n_tasks=st.integers(1, 7),
    density=st.floats(0.0, 1.0),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_fit_matches_least_squares_on_any_connected_pattern_either_side_solved(
    n_algorithms, n_tasks, density, weighted, seed
):
    # A <= T solves for the algorithms, A > T for the tasks: both sides are drawn here.
    rng = np.random.default_rng(seed)
    observed = connected_pattern(rng, n_algorithms, n_tasks, density)
    y = rng.normal(0, 1, (n_algorithms, n_tasks))
    weights = rng.uniform(0.2, 3.0, n_tasks) if weighted else np.ones(n_tasks)
    fit = fit_additive(values=y[None, None], observed=observed, weights=weights[None])
    mean, alpha, tau, residual = reference_fit(y, observed, weights)
    assert fit.mean[0, 0] == pytest.approx(mean, abs=1e-8)
    np.testing.assert_allclose(fit.algorithm[0, 0], alpha, atol=1e-8)
    np.testing.assert_allclose(fit.task[0, 0], tau, atol=1e-8)
    found = interaction(values=y[None, None], fit=fit, observed=observed)
    np.testing.assert_allclose(found[0, 0], residual, atol=1e-8)
    assert fit.algorithm[0, 0].sum() == pytest.approx(0, abs=1e-9)
    assert np.sum(weights * fit.task[0, 0]) == pytest.approx(0, abs=1e-8)


@pytest.mark.parametrize("shape", [(5, 4), (4, 5)])  # either side solved
def test_many_samples_with_their_own_weights_equal_one_fit_each(shape):
    rng = np.random.default_rng(3)
    observed = connected_pattern(rng, *shape, 0.6)
    values = rng.normal(0, 1, (6, 2, *shape))
    weights = rng.uniform(0.1, 2.0, (6, shape[1]))
    batch = fit_additive(values=values, observed=observed, weights=weights)
    residuals = interaction(values=values, fit=batch, observed=observed)
    # Matrices shared by every sample (only the weights differ) give the same fits.
    shared = fit_additive(values=values[0], observed=observed, weights=weights)
    for s in range(6):
        for r in range(2):
            one = fit_additive(
                values=values[s, r][None, None], observed=observed, weights=weights[s][None]
            )
            np.testing.assert_allclose(batch.algorithm[s, r], one.algorithm[0, 0], atol=1e-10)
            np.testing.assert_allclose(batch.task[s, r], one.task[0, 0], atol=1e-10)
            np.testing.assert_allclose(
                residuals[s, r],
                interaction(values=values[s, r], fit=one, observed=observed)[0, 0],
                atol=1e-10,
            )
        one = fit_additive(values=values[0], observed=observed, weights=weights[s][None])
        np.testing.assert_allclose(shared.algorithm[s], one.algorithm[0], atol=1e-10)
        np.testing.assert_allclose(shared.task[s], one.task[0], atol=1e-10)
        np.testing.assert_allclose(shared.mean[s], one.mean[0], atol=1e-10)


def test_values_on_unobserved_cells_are_ignored():
    observed = np.array([[True, True], [True, False]])
    y = np.array([[1.0, 3.0], [0.0, 0.0]])
    other = y.copy()
    other[1, 1] = 1e6
    a = fit_additive(values=y[None, None], observed=observed)
    b = fit_additive(values=other[None, None], observed=observed)
    np.testing.assert_array_equal(a.algorithm, b.algorithm)
    assert interaction(values=other[None, None], fit=b, observed=observed)[0, 0, 1, 1] == 0


def test_a_row_or_column_without_cells_or_bad_weights_is_refused():
    with pytest.raises(ValueError, match="every algorithm and every task"):
        fit_additive(values=np.zeros((1, 1, 2, 2)), observed=np.array([[1, 1], [0, 0]], bool))
    with pytest.raises(ValueError, match="positive"):
        fit_additive(
            values=np.zeros((1, 1, 1, 2)),
            observed=np.ones((1, 2), bool),
            weights=np.array([[1.0, 0.0]]),
        )
    with pytest.raises(ValueError, match="values must be"):
        fit_additive(values=np.zeros((2, 2)), observed=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="3 samples of values but 2 of weights"):
        fit_additive(
            values=np.zeros((3, 1, 1, 2)), observed=np.ones((1, 2), bool), weights=np.ones((2, 2))
        )


def test_components_join_algorithms_through_shared_tasks():
    observed = np.array(
        [
            [1, 1, 0, 0, 0],
            [0, 1, 0, 0, 0],
            [0, 0, 1, 0, 0],  # alone on task 2
            [0, 0, 0, 0, 0],  # no cell
            [0, 0, 1, 1, 0],  # shares task 2 with algorithm 2
        ],
        dtype=bool,
    )
    algorithms, tasks = components(observed)
    assert algorithms.tolist() == [0, 0, 1, -1, 1]
    assert tasks.tolist() == [0, 0, 1, 1, -1]
