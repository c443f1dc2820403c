"""A transfer matrix row (``leaderboard.transfer.matrix.transfer_matrix``): which cells it holds,
what its means average, where it sorts, what it says of runs still waiting. Over a real
track of scored runs (``benchmark_world``)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from leaderboard.models import LeaderboardEntry
from leaderboard.transfer.matrix import transfer_matrix
from scoring.models import Submission
from tests.scoring_tests.factories import make_participant

from .benchmark_world import bench_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _latecomer(world):
    """An algorithm that failed on t-one, is queued on t-two and never ran on t-three."""
    team = make_participant(world.challenge, username="late", name="late").team
    algorithm = Algorithm.objects.create(challenge=world.challenge, team=team, name="late-method")
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="x.zip", archive_sha256="0" * 64
    )
    failed = AlgorithmRun.objects.create(
        version=version,
        task=world.tasks["t-one"],
        status=AlgorithmRunStatus.FAILED,
        error="out of memory",
        finished_at=timezone.now(),
    )
    queued = AlgorithmRun.objects.create(
        version=version, task=world.tasks["t-two"], status=AlgorithmRunStatus.QUEUED
    )
    return algorithm, failed, queued


def _by_name(matrix):
    return {row.algorithm.name: row for row in matrix.rows}


def test_a_row_averages_its_cells_sorts_by_its_mean_delta_and_says_what_waits(tmp_path):
    world = bench_world(tmp_path)
    late, failed, queued = _latecomer(world)
    owls = world.algorithms["owls"]
    # a queued re-run of a task owls has a finished run on: the finished run speaks
    AlgorithmRun.objects.create(
        version=owls.versions.get(), task=world.tasks["t-one"], status=AlgorithmRunStatus.QUEUED
    )
    matrix = transfer_matrix(track=world.track)
    assert [t.slug for t in matrix.tasks] == ["t-one", "t-two", "t-three"]
    assert [b.status for b in matrix.baselines] == ["scored"] * 3

    rows = _by_name(matrix)
    deltas = [row.mean_delta for row in matrix.rows]
    assert matrix.rows[-1].algorithm == late  # no value: after every row with one
    assert deltas[:-1] == sorted(deltas[:-1], reverse=True)
    for name in ("owls", "hawks", "crows"):
        row = rows[f"{name}-method"]
        assert all(cell is not None for cell in row.cells) and row.covered == 3
        # accuracy adds itself to a track's mean: the means are those of the cells
        assert row.mean_delta == pytest.approx(sum(c.delta for c in row.cells) / 3)
        assert row.mean_score == pytest.approx(sum(c.score for c in row.cells) / 3)
        assert all(run.status == AlgorithmRunStatus.SUCCEEDED for run in row.runs)
        assert row.pending == [None, None, None]
        assert None not in row.keys and len(set(row.keys)) == 3
    assert rows["owls-method"].mean_delta > 0  # better than the baseline everywhere

    row = rows["late-method"]
    assert (row.mean_delta, row.mean_score, row.covered) == (None, None, 0)
    assert row.cells == [None, None, None] and row.keys == [None, None, None]
    assert row.runs == [failed, None, None]  # in task order: t-one, t-two, t-three
    assert row.pending == [None, queued, None]


def test_tasks_without_a_baseline_file_or_a_bootstrap_have_no_cells_and_no_share_of_the_mean(
    tmp_path, caplog
):
    world = bench_world(tmp_path)
    # t-two ranked by a metric the bootstrap does not compute; t-three's baseline entry
    # without a predictions file to measure from
    two, three = world.tasks["t-two"], world.tasks["t-three"]
    two.primary_metric = "macro_f1"
    two.save(update_fields=["primary_metric"])
    entry = LeaderboardEntry.objects.get(task=three, split="public", is_baseline=True)
    Submission.objects.filter(pk=entry.submission_id).update(predictions="")

    matrix = transfer_matrix(track=world.track)
    # passed over, not attempted and failed: no cell error in the log
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert [(t.slug, b.status) for t, b in zip(matrix.tasks, matrix.baselines, strict=True)] == [
        ("t-one", "scored"),
        ("t-two", "scored"),
        ("t-three", "not run"),
    ]
    assert set(matrix.baseline_entries) == {world.tasks["t-one"].pk, two.pk}
    for row in matrix.rows:
        one, two_cell, three_cell = row.cells
        assert one is not None and two_cell is None and three_cell is None
        assert row.keys[0] is not None and row.keys[1:] == [None, None]
        assert row.covered == 1
        assert (row.mean_delta, row.mean_score) == pytest.approx((one.delta, one.score))
        assert all(run is not None for run in row.runs)  # the runs stay, cells or not
