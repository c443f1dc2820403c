"""Which run is an algorithm's cell on a task (``algorithms.selectors.transfer_cell_runs``):
a failed reproduction or a later failed re-run never replaces a finished run's cell; a
failure of a newer version, or on newer data, does. Through the page's matrix and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import (
    BENCHMARK_PROFILE,
    REPRODUCTION_PROFILE,
    AlgorithmRun,
    AlgorithmRunStatus,
    AlgorithmVersion,
)
from algorithms.selectors import transfer_cell_runs
from leaderboard.transfer.matrix import transfer_matrix

from .benchmark_world import bench_world

pytestmark = pytest.mark.django_db


def _cell(world, algorithm, task):
    """(the cell's run, its scored cell or None) on the page's matrix and in the API."""
    cache.clear()
    matrix = transfer_matrix(track=world.track)
    row = next(r for r in matrix.rows if r.algorithm.pk == algorithm.pk)
    index = matrix.tasks.index(task)
    body = APIClient().get(f"/api/v1/tracks/{world.track.slug}/transfer/").json()
    (api,) = [c for c in body["cells"] if (c["algorithm"], c["task"]) == (algorithm.pk, task.slug)]
    assert api["run"] == row.runs[index].pk
    return row.runs[index], row.cells[index], api


def _failed(version, task, *, minutes, profile, data_version, **fields):
    return AlgorithmRun.objects.create(
        version=version,
        task=task,
        profile=profile,
        status=AlgorithmRunStatus.FAILED,
        error=f"{profile} failed",
        finished_at=timezone.now() + timedelta(minutes=minutes),
        manifest={"task_data_version": data_version},
        **fields,
    )


def test_a_failed_reproduction_or_rerun_never_replaces_the_cell_a_newer_version_does(tmp_path):
    world = bench_world(tmp_path)
    task, algorithm = world.tasks["t-one"], world.algorithms["owls"]
    version = algorithm.versions.get()
    good = version.runs.get(task=task)
    good.manifest = {"task_data_version": task.data_version}
    good.save(update_fields=["manifest"])
    run, cell, api = _cell(world, algorithm, task)
    assert run == good and cell is not None and api["status"] == "succeeded"
    score, delta = cell.score, cell.delta

    # A reproduction of the run fails later: it checks the run, it never stands for the
    # algorithm, so the cell keeps the good run and its score.
    _failed(
        version, task, minutes=5, profile=REPRODUCTION_PROFILE,
        data_version=task.data_version, reproduces=good,
    )  # fmt: skip
    run, cell, api = _cell(world, algorithm, task)
    assert run == good and (cell.score, cell.delta) == (score, delta)

    # A later re-run of the same version on the same data fails (a busy or lost worker, a
    # limit): the version did produce predictions there, so the failure is that run's story;
    # it stays in the algorithm's run list with its reason, and the cell keeps the good run.
    rerun = _failed(
        version, task, minutes=10, profile=BENCHMARK_PROFILE, data_version=task.data_version
    )
    run, cell, api = _cell(world, algorithm, task)
    assert run == good and (cell.score, cell.delta) == (score, delta)
    assert (api["status"], api["error"], api["score"]) == ("succeeded", "", score)
    assert rerun in AlgorithmRun.objects.filter(version__algorithm=algorithm, task=task)

    # The same failure on the task's newer data does replace it: the algorithm fails on the
    # data as it is now.
    task.data_version += 1
    task.save(update_fields=["data_version"])
    newer_data = _failed(
        version, task, minutes=15, profile=BENCHMARK_PROFILE, data_version=task.data_version
    )
    run, cell, api = _cell(world, algorithm, task)
    assert run == newer_data and cell is None
    assert (api["status"], api["error"], api["score"]) == ("failed", "platform error", None)

    # So does a newer version's failure, even on older data: that version is the algorithm now.
    v2 = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=2, archive="y.zip", archive_sha256="1" * 64
    )
    broken = _failed(v2, task, minutes=20, profile="team", data_version=task.data_version - 1)
    run, cell, api = _cell(world, algorithm, task)
    assert run == broken and api["version"] == 2 and api["status"] == "failed"


def test_a_failure_before_a_success_and_runs_without_a_manifest(tmp_path):
    """A version's success after its failure is the cell; a run without a data version (from
    before manifests) counts as on the first data: a failure there does not replace it, a
    failure on the second does."""
    world = bench_world(tmp_path)
    task, algorithm = world.tasks["t-two"], world.algorithms["crows"]
    version = algorithm.versions.get()
    good = version.runs.get(task=task)  # finished now, no manifest
    _failed(version, task, minutes=-30, profile="team", data_version=None)
    assert transfer_cell_runs(tasks=[task])[(algorithm.pk, task.pk)] == good
    _failed(version, task, minutes=10, profile="organizer", data_version=1)
    assert transfer_cell_runs(tasks=[task])[(algorithm.pk, task.pk)] == good
    failed = _failed(version, task, minutes=20, profile="organizer", data_version=2)
    assert transfer_cell_runs(tasks=[task])[(algorithm.pk, task.pk)] == failed
