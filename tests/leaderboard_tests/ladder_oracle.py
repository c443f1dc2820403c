"""An oracle of the ladder's decisions (docs/organizers/ladder.md), written apart from the platform
with numpy, scipy and scikit-learn on the values a test uploaded (see
``test_ladder_oracle.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

from leaderboard.core.ladder import SEED
from tests.leaderboard_tests.ladder_world import Planted

BOOTSTRAPS = 200  # the tasks' setting here (the oracle scores each bootstrap with sklearn)


def rounded(score: float, units: int) -> float:
    """To the nearest multiple of 1 / sqrt(units) rounded down to a power of ten."""
    step = 10.0 ** np.floor(np.log10(1 / np.sqrt(units)) + 1e-12)
    return round(round(score / step) * step, 10)


# --- the oracle: per-unit values of the paired difference ------------------------------------


def _f1_parts(truth, pred, labels):
    """Per class: the rows' true-positive and predicted-positive columns (rows x classes)."""
    tp = np.stack([(pred == c) & (truth == c) for c in labels], axis=1).astype(float)
    pp = np.stack([pred == c for c in labels], axis=1).astype(float)
    positives = np.array([(truth == c).sum() for c in labels], dtype=float)
    return tp, pp, positives


def _f1_units(truth, new, old, labels):
    """Mean over ``labels`` of F1 = 2 tp / (pp + positives): each row's first-order share of
    the change at the midpoint of the two entries' sums, by hand."""
    tp_new, pp_new, positives = _f1_parts(truth, new, labels)
    tp_old, pp_old, _ = _f1_parts(truth, old, labels)
    tp = (tp_new.sum(axis=0) + tp_old.sum(axis=0)) / 2
    pp = (pp_new.sum(axis=0) + pp_old.sum(axis=0)) / 2
    denominator = pp + positives
    d_tp = 2 / denominator / len(labels)
    d_pp = -2 * tp / denominator**2 / len(labels)
    return (tp_new - tp_old) @ d_tp + (pp_new - pp_old) @ d_pp


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def _pair_counts(weights, entity, cluster):
    """(TP, true pairs, cross pairs) over every pair of records, weighted as the entity
    bootstrap weighs a pair (w_e inside entity e, w_e * w_f across)."""
    i, j = _pairs(entity.size)
    same = entity[i] == entity[j]
    together = cluster[i] == cluster[j]
    inside = weights[entity[i]]
    across = weights[entity[i]] * weights[entity[j]]
    return (
        float((inside * (same & together)).sum()),
        float((inside * same).sum()),
        float((across * (~same & together)).sum()),
    )


def _grouping_units(entity, new, old):
    """Pairwise F1's first-order change and each entity's influence, pairs enumerated."""
    n_entities = int(entity.max()) + 1
    ones = np.ones(n_entities)
    count_new, count_old = _pair_counts(ones, entity, new), _pair_counts(ones, entity, old)
    true = count_new[1]
    tp, cross = (count_new[0] + count_old[0]) / 2, (count_new[2] + count_old[2]) / 2
    denominator = true + tp + cross
    d_tp, d_cross = 2 * (true + cross) / denominator**2, -2 * tp / denominator**2
    delta = d_tp * (count_new[0] - count_old[0]) + d_cross * (count_new[2] - count_old[2])
    influence = np.zeros(n_entities)
    for e in range(n_entities):  # the counts are at most quadratic: a unit step is exact
        up, down = ones.copy(), ones.copy()
        up[e], down[e] = 2.0, 0.0
        change = []
        for cluster in (new, old):
            hi, lo = _pair_counts(up, entity, cluster), _pair_counts(down, entity, cluster)
            change.append(((hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2))
        influence[e] = d_tp * (change[0][0] - change[1][0]) + d_cross * (
            change[0][1] - change[1][1]
        )
    return delta, influence


def _climbs(delta: float, influence: np.ndarray) -> bool:
    n = influence.size
    se = np.sqrt(n / (n - 1) * ((influence - influence.mean()) ** 2).sum())
    return bool(delta > se * (1 + 1e-9))


def exact(planted: Planted, values: np.ndarray, rows: np.ndarray) -> float:
    truth, pred = planted.truth[rows], np.asarray(values)[rows]
    task = planted.task
    if task.kind == "classification":
        if task.primary_metric == "accuracy":
            return skm.accuracy_score(truth, pred)
        return skm.f1_score(truth, pred, labels=task.classes, average="macro", zero_division=0)
    if task.kind == "matching":
        return skm.f1_score(truth.astype(int), pred.astype(int), zero_division=0)
    if task.kind == "regression":
        return float(np.sqrt(skm.mean_squared_error(truth, pred)))
    _, entity = np.unique(truth, return_inverse=True)
    _, cluster = np.unique(pred, return_inverse=True)
    tp, true, cross = _pair_counts(np.ones(entity.max() + 1), entity, cluster)
    return 2 * tp / (true + tp + cross) if tp else 0.0


def ladder_oracle(planted: Planted, new, old) -> bool:
    """Would ``new`` climb over ``old`` (values in the solution's order) under ``ladder``?"""
    task, rows = planted.task, planted.public
    gain = exact(planted, new, rows) - exact(planted, old, rows)
    truth = planted.truth[rows]
    new, old = np.asarray(new)[rows], np.asarray(old)[rows]
    if task.primary_metric == "accuracy":
        t = stats.ttest_rel((new == truth).astype(float), (old == truth).astype(float)).statistic
        return bool(np.isfinite(t) and t > 1 and gain > 0)
    if task.primary_metric == "rmse":
        t = stats.ttest_rel((old - truth) ** 2, (new - truth) ** 2).statistic
        return bool(np.isfinite(t) and t > 1 and gain < 0)
    if task.kind == "grouping":
        _, entity = np.unique(truth, return_inverse=True)
        _, new_codes = np.unique(new, return_inverse=True)
        _, old_codes = np.unique(old, return_inverse=True)
        delta, influence = _grouping_units(entity, new_codes, old_codes)
        return _climbs(delta, influence) and gain > 0
    labels = task.classes if task.kind == "classification" else ["1"]
    if task.kind == "matching":
        truth, new, old = (a.astype(str) for a in (truth.astype(int), new, old))
    units = _f1_units(truth, new, old, labels)
    return _climbs(float(units.sum()), units) and gain > 0


def _draws(n: int) -> list[np.ndarray]:
    """How often each unit is drawn by each bootstrap: child b of SeedSequence(SEED)."""
    children = np.random.SeedSequence(SEED).spawn(BOOTSTRAPS)
    return [
        np.bincount(np.random.Generator(np.random.PCG64(c)).integers(0, n, n), minlength=n)
        for c in children
    ]


def bootstrap_scores(planted: Planted, values) -> np.ndarray:
    """The entry's score on each bootstrap of the public rows (entities for grouping),
    with scikit-learn and the draw counts as sample weights."""
    task, rows = planted.task, planted.public
    truth, pred = planted.truth[rows], np.asarray(values)[rows]
    if task.kind == "grouping":
        # Entities are numbered in the order the solution first names them (as the truth's
        # codes are), and those of the public rows in that order.
        first_named = pd.factorize(planted.truth)[0][rows]
        _, entity = np.unique(first_named, return_inverse=True)
        _, cluster = np.unique(pred, return_inverse=True)
        out = []
        for w in _draws(int(entity.max()) + 1):
            tp, true, cross = _pair_counts(w.astype(float), entity, cluster)
            out.append(2 * tp / (true + tp + cross) if tp else 0.0)
        return np.array(out)
    out = []
    for w in _draws(truth.size):
        if task.primary_metric == "accuracy":
            out.append(skm.accuracy_score(truth, pred, sample_weight=w))
        elif task.primary_metric == "macro_f1":
            out.append(
                skm.f1_score(
                    truth,
                    pred,
                    labels=task.classes,
                    average="macro",
                    sample_weight=w,
                    zero_division=0,
                )
            )
        elif task.kind == "matching":
            out.append(
                skm.f1_score(truth.astype(int), pred.astype(int), sample_weight=w, zero_division=0)
            )
        else:
            out.append(np.sqrt(skm.mean_squared_error(truth, pred, sample_weight=w)))
    return np.array(out)


def bootstrap_oracle(planted: Planted, new, old) -> tuple[bool, float]:
    """The DREAM rule on the oracle's bootstraps: climbed, and the Bayes factor."""
    higher = planted.task.primary_metric != "rmse"
    a, b = bootstrap_scores(planted, new), bootstrap_scores(planted, old)
    gains = (a - b) if higher else (b - a)
    wins = int((gains > 0).sum())
    factor = np.inf if wins == gains.size else wins / (gains.size - wins)
    return bool(factor > 3 and gains.mean() > 0), factor
