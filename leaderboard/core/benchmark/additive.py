"""The additive two-way model over the observed cells of an algorithms x tasks matrix.

    y[a, t] = mu + alpha[a] + tau[t] + gamma[a, t]        for every observed cell (a, t)

fitted by least squares in which each observed cell of task ``t`` weighs ``w[t] > 0`` (1 for
the point fit; a random weight per task when tasks are resampled), under the constraints

    sum_a alpha[a] = 0        and        sum_t w[t] tau[t] = 0,

so ``mu + alpha[a]`` is the algorithm's mean over the (weighted) tasks of the fitted table
``mu + alpha + tau`` and ``mu + tau[t]`` the task's mean over the algorithms: least-squares
means, the same whichever cells happen to be missing. ``gamma`` (the residual) is the
interaction. The fitted values, and so the effects, are unique when the observed pattern is
connected (`components`); the caller fits one connected component.

Solution (the intra-block analysis of an incomplete block design): eliminate the larger
factor and solve a system the size of the smaller one. With tasks eliminated, ``mu + tau[t]``
is the mean over task ``t``'s algorithms of ``y - alpha``, and ``alpha`` solves ``C alpha = q``
with

    C[a, a'] = sum_t w[t] O[a, t] (delta(a, a') - O[a', t] / n[t]),
    q[a]     = sum_t w[t] O[a, t] (y[a, t] - ybar[t]),

``O`` the observed pattern, ``n[t]`` the algorithms observed on ``t`` and ``ybar[t]`` their
mean. ``C`` annihilates the constant vector (and only it, when the pattern is connected), so
``(C + s v v') alpha = q`` with ``v`` along the constraint gives the constrained solution.
Eliminating algorithms instead is the same with the roles and the weights swapped.

Every sample is fitted at once, from two marginal sums of the values (per algorithm,
weighted, and per task): ``values`` holds S samples of R right-hand sides (e.g. B row
resamples), or R matrices shared by every sample (the point deltas and the home indicators
under B task weightings, whose sums are then products of the weights). With one weight
vector for all samples the system's inverse is computed once and the effects of every
sample are one matrix product; with a weight vector per sample the S small systems are
solved as one batch. The interaction is computed only where asked (`interaction`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AdditiveFit:
    """Effects of S samples x R right-hand sides (shapes given per field)."""

    mean: np.ndarray  # (S, R)
    algorithm: np.ndarray  # (S, R, A): alpha, summing to 0
    task: np.ndarray  # (S, R, T): tau, summing to 0 with the task weights

    def select(self, rhs: slice) -> AdditiveFit:
        """The fit of some right-hand sides only."""
        return AdditiveFit(
            mean=self.mean[:, rhs], algorithm=self.algorithm[:, rhs], task=self.task[:, rhs]
        )


def components(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the pattern, as a graph joining an algorithm to each task it
    was observed on: (label per algorithm, label per task), -1 for a row or column without
    an observed cell. Labels are 0, 1, ... in the order of their first algorithm."""
    observed = np.asarray(observed, dtype=bool)
    n_algorithms, n_tasks = observed.shape
    parent = list(range(n_algorithms + n_tasks))  # union-find: tasks after the algorithms

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, t in zip(*np.nonzero(observed), strict=True):
        ra, rt = root(int(a)), root(n_algorithms + int(t))
        if ra != rt:
            parent[max(ra, rt)] = min(ra, rt)
    has_cell = np.concatenate([observed.any(axis=1), observed.any(axis=0)])
    labels = np.full(n_algorithms + n_tasks, -1, dtype=np.int64)
    numbers: dict[int, int] = {}
    for node in range(n_algorithms + n_tasks):
        if has_cell[node]:
            labels[node] = numbers.setdefault(root(node), len(numbers))
    return labels[:n_algorithms], labels[n_algorithms:]


def _solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``matrix (S' x d x d) @ x = rhs`` for rhs (S, R, d); S' is 1 or S."""
    if matrix.shape[0] == 1:
        return rhs @ np.linalg.inv(matrix[0]).T  # one inverse, one product for all samples
    return np.linalg.solve(matrix, rhs.transpose(0, 2, 1)).transpose(0, 2, 1)


def fit_additive(
    *, values: np.ndarray, observed: np.ndarray, weights: np.ndarray | None = None
) -> AdditiveFit:
    """Fit the additive model to ``values`` on the ``observed`` (A, T) cells.

    ``values`` is (S, R, A, T), a matrix per sample and right-hand side, or (R, A, T), the
    same matrices for every sample (then each sample differs by its weights only, and the
    fit is matrix products of the weights). ``weights`` is (S, T) or (1, T) positive task
    weights, or None for 1. Values on unobserved cells are ignored. The pattern must be
    connected, with an observed cell in every row and column (one of `components`).
    """
    observed = np.asarray(observed, dtype=bool)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (3, 4) or values.shape[-2:] != observed.shape:
        raise ValueError(
            f"values must be (S, R, {observed.shape}) or (R, {observed.shape}), not {values.shape}"
        )
    n_algorithms, n_tasks = observed.shape
    mask = observed.astype(np.float64)
    if not (mask.any(axis=0).all() and mask.any(axis=1).all()):
        raise ValueError("every algorithm and every task needs an observed cell")
    w = np.ones((1, n_tasks)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != n_tasks:
        raise ValueError(f"weights must be (S, {n_tasks}), not {w.shape}")
    if values.ndim == 4 and w.shape[0] not in (1, values.shape[0]):
        raise ValueError(f"{values.shape[0]} samples of values but {w.shape[0]} of weights")
    if not np.all(w > 0):
        raise ValueError("task weights must be positive")
    y = values * mask
    if y.ndim == 3:  # the same values for every sample: sums over tasks are products
        n_rhs = y.shape[0]
        weighted_rows = (w @ y.reshape(-1, n_tasks).T).reshape(w.shape[0], n_rhs, n_algorithms)
        columns = y.sum(axis=-2)[None]  # (1, R, T)
    else:
        weighted_rows = (y * w[:, None, None, :]).sum(axis=-1)  # (S, R, A)
        columns = y.sum(axis=-2)  # (S, R, T)
    if n_algorithms <= n_tasks:
        return _fit_by_algorithms(weighted_rows, columns, mask, w)
    return _fit_by_tasks(weighted_rows, columns, mask, w)


def interaction(*, values: np.ndarray, fit: AdditiveFit, observed: np.ndarray) -> np.ndarray:
    """(S, R, A, T) the residuals of ``fit`` (the interaction), 0 on unobserved cells.

    ``values`` as given to `fit_additive` (or its first right-hand sides, with the fit's
    `AdditiveFit.select`)."""
    mask = np.asarray(observed, dtype=np.float64)
    fitted = fit.mean[..., None, None] + fit.algorithm[..., :, None] + fit.task[..., None, :]
    return (np.asarray(values, dtype=np.float64) - fitted) * mask


def _fit_by_algorithms(
    weighted_rows: np.ndarray, columns: np.ndarray, mask: np.ndarray, w: np.ndarray
) -> AdditiveFit:
    """Eliminate the tasks; solve the A x A system for alpha. ``weighted_rows`` holds
    sum_t w[t] y[a, t] per algorithm, ``columns`` sum_a y[a, t] per task."""
    n_algorithms = mask.shape[0]
    per_task = mask.sum(axis=0)  # n[t]
    q = weighted_rows - (columns / per_task * w[:, None, :]) @ mask.T  # (S, R, A)
    cell_weights = w[:, None, :] * mask  # (S', A, T)
    diagonal = cell_weights.sum(axis=-1)  # (S', A)
    c = -(cell_weights / per_task) @ mask.T  # (S', A, A)
    c[:, np.arange(n_algorithms), np.arange(n_algorithms)] += diagonal
    scale = diagonal.mean(axis=-1)[:, None, None]
    alpha = _solve(c + scale / n_algorithms, q)  # v = 1/sqrt(A): sum of alpha = 0
    level = (columns - alpha @ mask) / per_task  # mu + tau, (S, R, T)
    mean = (level * w[:, None, :]).sum(axis=-1) / w.sum(axis=-1)[:, None]
    return AdditiveFit(mean=mean, algorithm=alpha, task=level - mean[..., None])


def _fit_by_tasks(
    weighted_rows: np.ndarray, columns: np.ndarray, mask: np.ndarray, w: np.ndarray
) -> AdditiveFit:
    """Eliminate the algorithms; solve the T x T system for tau (arguments as above)."""
    n_tasks = mask.shape[1]
    per_algorithm = w @ mask.T  # (S', A): sum_t w[t] O[a, t]
    algorithm_mean = weighted_rows / per_algorithm[:, None, :]  # (S, R, A)
    q = w[:, None, :] * (columns - algorithm_mean @ mask)  # (S, R, T)
    overlap = (mask.T / per_algorithm[:, None, :]) @ mask  # (S', T, T): sum_a O O / r[a]
    c = -(w[:, :, None] * w[:, None, :]) * overlap
    diagonal = w * mask.sum(axis=0)  # (S', T)
    c[:, np.arange(n_tasks), np.arange(n_tasks)] += diagonal
    direction = w / np.linalg.norm(w, axis=-1, keepdims=True)  # v along the constraint w
    scale = diagonal.mean(axis=-1)[:, None, None]
    tau = _solve(c + scale * direction[:, :, None] * direction[:, None, :], q)
    level = (weighted_rows - (tau * w[:, None, :]) @ mask.T) / per_algorithm[:, None, :]
    mean = level.mean(axis=-1)  # mu + alpha -> mu, (S, R)
    return AdditiveFit(mean=mean, algorithm=level - mean[..., None], task=tau)
