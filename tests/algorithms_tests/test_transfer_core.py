"""The transfer-matrix cell (no database): score minus baseline with a paired interval."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.transfer import transfer_cell


def test_a_clearly_better_algorithm_has_an_interval_above_zero() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 400)
    better = np.where(rng.random(400) < 0.9, y, (y + 1) % 3)
    baseline = np.where(rng.random(400) < 0.6, y, (y + 1) % 3)
    cell = transfer_cell(y=y, pred=better, baseline_pred=baseline, kind="classification")
    assert cell.score == pytest.approx(np.mean(better == y))
    assert cell.baseline == pytest.approx(np.mean(baseline == y))
    assert cell.delta == pytest.approx(cell.score - cell.baseline)
    assert 0 < cell.delta_low < cell.delta < cell.delta_high


def test_the_interval_is_the_bootstraps_paired_difference_on_the_chosen_rows() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    pred = np.where(rng.random(300) < 0.7, y, 1 - y)
    baseline = np.where(rng.random(300) < 0.7, y, 1 - y)
    rows = rng.random(300) < 0.3
    cell = transfer_cell(y=y, pred=pred, baseline_pred=baseline, kind="matching", rows=rows)
    result = bootstrap_leaderboard(
        y=y, preds=[pred, baseline], kind="matching", rows=rows, keep_samples=True
    )
    differences = np.sort(result.samples[:, 0] - result.samples[:, 1])
    assert cell.delta_low == pytest.approx(differences[24])  # k = ceil(0.025 * 1000)
    assert cell.delta_high == pytest.approx(differences[-25])
    assert cell.delta_low <= cell.delta <= cell.delta_high


def test_algorithm_tasks_follow_the_project_policy() -> None:
    from django.conf import settings

    from algorithms.tasks import run_algorithm, sweep_algorithm_runs
    from jobs.celery import TASK_QUEUES, app

    assert TASK_QUEUES[run_algorithm.name] == "algorithms"
    assert run_algorithm.acks_late and run_algorithm.reject_on_worker_lost
    assert run_algorithm.soft_time_limit < run_algorithm.time_limit
    assert run_algorithm.soft_time_limit > settings.ALGORITHM_WALL_SECONDS
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > run_algorithm.time_limit
    assert app.conf.beat_schedule["sweep-algorithm-runs"]["task"] == sweep_algorithm_runs.name
