"""The ladder through the real pipeline (docs/organizers/ladder.md): tasks of every kind imported by
the import service, files scored by the scoring service, each entry weighed in the board's refresh.
Every climb decision and shown score equals an oracle computed here, independently, with numpy,
scipy and scikit-learn on the values the test uploaded:

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
import pytest

from tests.leaderboard_tests.ladder_oracle import (
    BOOTSTRAPS,
    bootstrap_oracle,
    bootstrap_scores,
    exact,
    ladder_oracle,
    rounded,
)
from tests.leaderboard_tests.ladder_world import Planted, kind_task, random_label_task, upload
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory

pytestmark = pytest.mark.django_db

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
            score = exact(planted, values, planted.public)
            if mode == "ladder":
                units = int(planted.public.sum())
                if kind == "grouping":
                    units = np.unique(planted.truth[planted.public]).size
                shown = rounded(score, units)
            else:
                shown = float(bootstrap_scores(planted, values)[:10].mean())
        assert step.shown_score == pytest.approx(shown, abs=1e-12), f"entry {i}"
        assert submission.public_score == pytest.approx(exact(planted, values, planted.public))
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
