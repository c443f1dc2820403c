"""``chal leaderboard`` shows what the living benchmark adds to the boards: P(first), the
95% rank interval and the group on a track board, CPU-seconds on a task board whose entries
came from algorithm runs (issue 26)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.leaderboard_tests.benchmark_world import bench_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_track_board_prints_p_first_rank_interval_and_group_as_the_api_sends(
    chal, live_server, tmp_path
):
    world = bench_world(tmp_path)
    api = APIClient().get(f"/api/v1/tracks/{world.track.slug}/leaderboard/").json()

    board = chal("leaderboard", world.track.slug, "--server", live_server.url)

    assert board.code == 0, board.err
    tasks = api["tasks"]
    header = board.out.splitlines()[1].split()
    assert header == ["rank", "team", "mean", *tasks, "P(first)", "rank", "95%", "group", "note"]
    lines = board.out.splitlines()[3:]
    for entry in api["entries"]:
        line = next(line for line in lines if f" {entry['team']} " in f" {line} ")
        cells = line.split()
        if entry["is_baseline"]:
            assert cells.count("—") >= 4 and cells[-1] == "baseline"  # rank and the 3 columns
            continue
        lo, hi = entry["rank_interval"]
        assert f"{entry['p_first']:.3f}" in cells
        assert f"{lo}-{hi}" in cells
        assert cells[cells.index(f"{lo}-{hi}") + 1] == str(entry["group"])


def test_task_board_prints_cpu_seconds_of_the_runs_behind_the_entries(chal, live_server, tmp_path):
    world = bench_world(tmp_path)
    task = world.tasks["t-one"]
    api = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    with_cpu = [e for e in api["entries"] if e.get("cpu_seconds") is not None]
    assert with_cpu, "the bench world's entries come from algorithm runs"

    board = chal("leaderboard", task.slug, "--server", live_server.url)

    assert board.code == 0, board.err
    assert "CPU s" in board.out.splitlines()[1]
    lines = board.out.splitlines()[3:]
    for entry in with_cpu:
        line = next(line for line in lines if f" {entry['team']} " in f" {line} ")
        assert f"{entry['cpu_seconds']:.1f}" in line.split()


def test_task_board_says_opis_is_threshold_consistency_not_quality(chal, live_server, tmp_path):
    """A constant predictor's low OPIS must not read as the better model: the board prints
    what OPIS measures under the table."""
    world = bench_world(tmp_path)
    task = world.tasks["t-one"]
    for entry in task.leaderboard_entries.filter(split="public"):
        entry.metrics = {**entry.metrics, "opis": 0.035 if entry.rank is None else 0.093}
        entry.save(update_fields=["metrics"])
    api = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    assert "threshold consistency" in api["metrics"]["opis"]["description"].lower()
    assert api["metrics"]["opis"]["direction"] == "lower"

    board = chal("leaderboard", task.slug, "--server", live_server.url)

    assert board.code == 0, board.err
    lines = board.out.splitlines()
    assert "OPIS" in lines[1].split()
    assert lines[-1].startswith("OPIS: threshold consistency")
    assert "lower is more consistent" in lines[-1] and "not a measure of quality" in lines[-1]
