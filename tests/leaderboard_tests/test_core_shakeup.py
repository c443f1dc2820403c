"""Public-to-private shake-up (no Django): the rows, the shake-up sampling alone gives, and a
team's adaptivity."""

import numpy as np
import pytest
from scipy.stats import rankdata

from leaderboard.core.shakeup import adaptivity, expected_shakeup, shakeup


def test_rows_sorted_by_private_rank_with_delta_positive_when_climbing():
    public = {"a": 1, "b": 2, "c": 3, "base": None}
    private = {"a": 3, "b": 1, "c": 2, "base": None}
    rows = shakeup(public, private)
    assert [(r.team_id, r.public_rank, r.private_rank, r.delta) for r in rows] == [
        ("b", 2, 1, 1),
        ("c", 3, 2, 1),
        ("a", 1, 3, -2),
        ("base", None, None, None),
    ]


def test_teams_on_one_board_only_have_no_delta_and_unranked_come_last():
    rows = shakeup({"a": 1, "gone": 2, "zed": None}, {"a": 1, "new": 2})
    assert [(r.team_id, r.delta) for r in rows] == [
        ("a", 0),
        ("new", None),
        ("gone", None),
        ("zed", None),
    ]


def _accuracy_resamples(correct, rng, resamples):
    """Each team's accuracy on row resamples of ``correct`` (rows x teams)."""
    n = correct.shape[0]
    return np.array([correct[rng.integers(0, n, n)].mean(axis=0) for _ in range(resamples)])


@pytest.mark.parametrize(
    "truth",
    [
        np.linspace(0.70, 0.74, 8),
        np.linspace(0.6, 0.8, 8),
        np.full(6, 0.7),
        np.linspace(0.5, 0.9, 12),
    ],
    ids=["close", "apart", "equal", "far-apart"],
)
def test_the_expected_shakeup_is_what_sampling_alone_gives_in_simulation(truth):
    """Teams of planted true accuracies, one entry each (no adaptivity): over many planted
    datasets, the observed mean rank change averages what the panel expects from each
    dataset's own resamples, within 20% (docs/organizers/ladder.md states the bias's direction)."""
    rng = np.random.default_rng(1)
    observed, expected = [], []
    for _ in range(120):
        correct = (rng.random((800, truth.size)) < truth).astype(float)
        public, private = correct[:400], correct[400:]
        ranks = [rankdata(-split.mean(axis=0)) for split in (public, private)]
        observed.append(np.abs(ranks[0] - ranks[1]).mean())
        figure = expected_shakeup(
            public=_accuracy_resamples(public, rng, 100),
            private=_accuracy_resamples(private, rng, 100),
            centers=correct.mean(axis=0),
            higher_is_better=True,
        )
        expected.append(figure.mean)
    assert np.mean(expected) == pytest.approx(np.mean(observed), rel=0.20)


def test_adaptivity_is_the_public_gain_beyond_the_private_gain():
    honest = adaptivity(first=(0.70, 0.69), leader=(0.80, 0.79), higher_is_better=True)
    attacker = adaptivity(first=(0.50, 0.50), leader=(0.57, 0.49), higher_is_better=True)
    lower = adaptivity(first=(2.0, 2.1), leader=(1.5, 2.0), higher_is_better=False)
    assert honest == pytest.approx(0.0) and attacker == pytest.approx(0.08)
    assert lower == pytest.approx(0.4)  # RMSE fell by 0.5 in public, by 0.1 in private
