"""The ladder through the real pipeline (docs/ladder.md): tasks of every kind imported by the
import service, files scored by the scoring service, each entry weighed in the board's
refresh. Every climb decision and shown score equals an oracle computed here, independently,
with numpy, scipy and scikit-learn on the values the test uploaded:

- ``ladder``: scipy's paired t statistic of the per-row losses above 1 (accuracy's 0/1 loss,
  RMSE's squared error), or for F1, macro-F1 and pairwise F1 the first-order improvement at
  the two entries' midpoint over its standard error, with the gradients written by hand (and
  a grouping task's pairs enumerated one by one); the shown score the exact one rounded;
- ``ladder-bootstrap``: the same bootstraps drawn from the documented seed, each scored by
  scikit-learn with the draw counts as sample weights (pairs weighed by their entities'
  draws for grouping), the Bayes factor and the mean of the first ten.

Also: an honest team of rising quality climbs at every real step, a team whose entries only
add noise to its first never climbs, and one row's label flipped never moves a shown score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from leaderboard.core.ladder import SEED
from tests.leaderboard_tests.ladder_world import Planted, kind_task, random_label_task, upload
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory

pytestmark = pytest.mark.django_db

BOOTSTRAPS = 200  # the tasks' setting here (the oracle scores each bootstrap with sklearn)


def _rounded(score: float, units: int) -> float:
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


def _exact(planted: Planted, values: np.ndarray, rows: np.ndarray) -> float:
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
    gain = _exact(planted, new, rows) - _exact(planted, old, rows)
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


# --- planted entries -------------------------------------------------------------------------


def _corrupt(planted: Planted, share: float, seed: int, base=None) -> np.ndarray:
    """The truth with ``share`` of its rows replaced at random (on ``base`` when given)."""
    rng = np.random.default_rng(seed)
    values = np.array(planted.truth if base is None else base, copy=True)
    hit = rng.random(values.size) < share
    task = planted.task
    if task.kind == "regression":
        values = values.astype(float) + np.where(hit, rng.normal(0, 4, values.size), 0.0)
    elif task.kind == "grouping":
        values = values.astype(object)
        values[hit] = [f"c{i}" for i in rng.integers(0, 40, int(hit.sum()))]
    elif task.kind == "matching":
        values = np.where(hit, 1 - planted.truth.astype(int), values.astype(int))
    else:
        values = np.where(hit, rng.choice(task.classes, size=values.size), values)
    return values


def _one_row(planted: Planted, values: np.ndarray, *, fix: bool, nth: int) -> np.ndarray:
    """``values`` with one public row's label changed (the ``nth`` such row): to the truth
    (``fix``), or away from it."""
    values = np.array(values, copy=True)
    rows = np.flatnonzero(planted.public)
    wrong = rows[values[rows] != planted.truth[rows]]
    right = rows[values[rows] == planted.truth[rows]]
    row = int(wrong[nth] if fix else right[nth])
    task = planted.task
    if fix:
        values[row] = planted.truth[row]
    elif task.kind == "regression":
        values[row] = planted.truth[row] + 5.0
    elif task.kind == "grouping":
        values = values.astype(object)
        values[row] = "lonely"
    elif task.kind == "matching":
        values[row] = 1 - int(planted.truth[row])
    else:
        values[row] = next(c for c in task.classes if c != planted.truth[row])
    return values


CASES = [
    ("classification", "accuracy"),
    ("classification", "macro_f1"),
    ("matching", "f1"),
    ("regression", "rmse"),
    ("grouping", "pairwise_f1"),
]


def _task(tmp_path: Path, kind: str, metric: str, mode: str) -> Planted:
    ChallengeFactory(slug="cup", daily_submission_limit=1000)
    if kind == "classification":
        planted = random_label_task(
            tmp_path, challenge="cup", slug="c", rows=400, metric=metric, mode=mode
        )
    else:
        planted = kind_task(tmp_path, kind=kind, challenge="cup", slug="k", rows=400, mode=mode)
    planted.task.ladder_bootstraps = BOOTSTRAPS
    planted.task.save(update_fields=["ladder_bootstraps"])
    return planted


@pytest.mark.parametrize("mode", ["ladder", "ladder-bootstrap"])
@pytest.mark.parametrize(("kind", "metric"), CASES)
def test_every_decision_and_shown_score_equals_the_oracle(tmp_path, kind, metric, mode):
    planted = _task(tmp_path, kind, metric, mode)
    team = TeamFactory(challenge=planted.task.track.challenge, name="t")
    base = _corrupt(planted, 0.45, seed=1)
    entries = [
        base,
        _corrupt(planted, 0.35, seed=2),
        _corrupt(planted, 0.34, seed=3),
        _corrupt(planted, 0.05, seed=4, base=_corrupt(planted, 0.30, seed=2)),
        _corrupt(planted, 0.15, seed=5),
        _corrupt(planted, 0.55, seed=6),
        _corrupt(planted, 0.14, seed=7),
    ]
    leader = None
    shown = None
    decisions = []
    for i, values in enumerate(entries):
        submission = upload(planted, team, values, tmp_path, f"e{i}")
        step = submission.ladder_step
        if leader is None:
            expected = True
        elif mode == "ladder":
            expected = ladder_oracle(planted, values, leader)
        else:
            expected, factor = bootstrap_oracle(planted, values, leader)
            stored = np.inf if step.bayes_factor is None else step.bayes_factor
            assert stored == pytest.approx(factor)
        assert step.climbed == expected, f"entry {i}"
        if expected:
            leader = values
            exact = _exact(planted, values, planted.public)
            if mode == "ladder":
                units = int(planted.public.sum())
                if kind == "grouping":
                    units = np.unique(planted.truth[planted.public]).size
                shown = _rounded(exact, units)
            else:
                shown = float(bootstrap_scores(planted, values)[:10].mean())
        assert step.shown_score == pytest.approx(shown, abs=1e-12), f"entry {i}"
        assert submission.public_score == pytest.approx(_exact(planted, values, planted.public))
        decisions.append(expected)
    assert any(decisions[1:]) and not all(decisions[1:])  # both outcomes were weighed


@pytest.mark.parametrize("mode", ["ladder", "ladder-bootstrap"])
@pytest.mark.parametrize(("kind", "metric"), CASES)
def test_one_row_flipped_never_moves_the_shown_score(tmp_path, kind, metric, mode):
    planted = _task(tmp_path, kind, metric, mode)
    team = TeamFactory(challenge=planted.task.track.challenge, name="t")
    base = _corrupt(planted, 0.3, seed=1)
    first = upload(planted, team, base, tmp_path, "first").ladder_step
    # The probe of one row's label (Blum & Hardt's attack, a row at a time): the shown
    # entry with that row changed, fixed or broken.
    for i, (fix, nth) in enumerate(((True, 0), (False, 0), (True, 1), (True, 2), (False, 3))):
        probe = _one_row(planted, base, fix=fix, nth=nth)
        step = upload(planted, team, probe, tmp_path, f"probe{i}").ladder_step
        assert not step.climbed and step.shown_score == first.shown_score


@pytest.mark.parametrize("mode", ["ladder", "ladder-bootstrap"])
def test_an_honest_team_climbs_at_every_step_and_noise_never_climbs(tmp_path, mode):
    ChallengeFactory(slug="cup", daily_submission_limit=1000)
    planted = random_label_task(tmp_path, challenge="cup", slug="h", rows=4000, mode=mode)
    challenge = planted.task.track.challenge
    honest, noisy = (TeamFactory(challenge=challenge, name=n) for n in ("honest", "noisy"))
    shown = []
    for i, wrong in enumerate((0.45, 0.38, 0.31, 0.24, 0.17, 0.10)):  # each clearly better
        step = upload(planted, honest, _corrupt(planted, wrong, seed=i), tmp_path, f"h{i}")
        assert step.ladder_step.climbed, f"step {i}"
        shown.append(step.ladder_step.shown_score)
    assert shown == sorted(shown) and len(set(shown)) == len(shown)
    base = _corrupt(planted, 0.3, seed=10)
    assert upload(planted, noisy, base, tmp_path, "n0").ladder_step.climbed  # its first
    for i in range(1, 12):  # the first entry with more rows drawn at random: only noise added
        noise = _corrupt(planted, 0.1, seed=20 + i, base=base)
        assert not upload(planted, noisy, noise, tmp_path, f"n{i}").ladder_step.climbed, i
