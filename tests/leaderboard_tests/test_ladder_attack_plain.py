"""The same attacker against a ``plain`` board: the exact public scores let it overfit the
public rows, its leader's public score at least 0.05 above its private score (3 attacks of
k = 200 each, seeds 0-2: the simulation's gap is 0.07 with a standard deviation of 0.009;
see ``test_ladder_attack.py`` for the path)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.leaderboard_tests.ladder_attack import attack_gaps

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(autouse=True)
def _no_upload_rate(settings):
    settings.TEAM_UPLOAD_RATE = "0"  # an operator's setting (0: no rate limit)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_a_plain_board_lets_the_attacker_overfit_by_at_least_0_05(tmp_path, metric):
    gaps = attack_gaps(tmp_path, metric=metric, mode="plain", seeds=range(3))
    assert np.mean(gaps) >= 0.05, gaps
