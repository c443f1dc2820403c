"""The attacker of docs/organizers/ladder.md against a ``ladder-bootstrap`` board ranked by
macro-F1, a metric that is no mean of per-row losses: 6 attacks of k = 200 uploads, seeds 0-5,
through the API and the scoring service (see ``test_ladder_attack.py`` for why this path and why a
mean over attacks)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.leaderboard_tests.ladder_attack import attack_gaps

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(autouse=True)
def _no_upload_rate(settings):
    settings.TEAM_UPLOAD_RATE = "0"  # an operator's setting (0: no rate limit)


def test_a_bootstrapped_ladder_keeps_the_macro_f1_leader_within_0_035(tmp_path):
    gaps = attack_gaps(tmp_path, metric="macro_f1", mode="ladder-bootstrap", seeds=range(6))
    assert np.mean(gaps) <= 0.035, gaps
