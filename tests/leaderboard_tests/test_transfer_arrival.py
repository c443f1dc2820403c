"""The transfer matrix tells the truth about a task that just arrived: its AutoGluon baseline
is shown queued, running or failed (never "not run" while it waits), and a cell whose delta
waits for the baseline's score says so, on the page and in the API."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import BASELINE_PROFILE, AlgorithmRun, AlgorithmRunStatus
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from tests.scoring_tests.factories import imported_task

from .benchmark_world import _submit, bench_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(redis_server, redis_client):
    """A real Redis: the arrival's commit publishes the baseline (none is run here)."""
    redis_client.flushall()
    return redis_client


def arrived(tmp_path, settings):
    """The bench track, whose tasks have a scored baseline (the built-in baseline's runs),
    plus ``t-four`` just imported: its baseline queued on arrival, like the living
    benchmark's re-runs of the three methods; owls' re-run has finished and is scored, crows'
    is still queued, and hawks' was cancelled (hawks have no run there)."""
    world = bench_world(tmp_path)
    settings.BENCHMARK_ON_ARRIVAL = True
    four = imported_task(tmp_path, challenge=world.challenge, slug="t-four", rows=200)
    queued = AlgorithmRun.objects.get(task=four, profile=BASELINE_PROFILE)
    entries = LeaderboardEntry.objects.filter(split="public", is_baseline=True)
    for task in world.tasks.values():
        AlgorithmRun.objects.create(
            version=queued.version,
            task=task,
            profile=BASELINE_PROFILE,
            status=AlgorithmRunStatus.SUCCEEDED,
            submission=entries.get(task=task).submission,
            finished_at=timezone.now(),
        )
    reruns = AlgorithmRun.objects.filter(task=four).exclude(profile=BASELINE_PROFILE)
    reruns.filter(version__algorithm=world.algorithms["owls"]).update(
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=_submit(tmp_path, four, world.teams["owls"], 0.1, 77),
        cpu_seconds=12.0,
        finished_at=timezone.now(),
    )
    reruns.filter(version__algorithm=world.algorithms["hawks"]).delete()
    task_leaderboard_refresh(task_id=four.pk, bootstrap=False)
    cache.clear()
    return world, four, queued


def transfer(world) -> dict:
    cache.clear()
    return APIClient().get(f"/api/v1/tracks/{world.track.slug}/transfer/").json()


def cells_on(body: dict, slug: str) -> dict[int, dict]:
    return {c["algorithm"]: c for c in body["cells"] if c["task"] == slug}


def test_a_queued_running_or_failed_baseline_is_shown_as_such(tmp_path, settings, broker):
    world, four, run = arrived(tmp_path, settings)
    baseline_algorithm = run.version.algorithm_id
    owls, crows = world.algorithms["owls"].pk, world.algorithms["crows"].pk

    body = transfer(world)
    states = {b["task"]: b for b in body["baselines"]}
    assert states["t-four"] == {"task": "t-four", "status": "queued", "run": run.pk, "error": ""}
    assert {states[s]["status"] for s in ("t-one", "t-two", "t-three")} == {"scored"}
    cells = cells_on(body, "t-four")
    assert set(cells) == {baseline_algorithm, owls, crows}  # hawks: not run, no cell
    assert (cells[crows]["status"], cells[crows]["reason"]) == ("queued", "the run is queued")
    assert cells[baseline_algorithm]["status"] == "queued"
    assert cells[baseline_algorithm]["reason"] == "the run is queued"
    assert cells[baseline_algorithm]["run"] == run.pk and cells[baseline_algorithm]["delta"] is None
    assert cells[owls]["status"] == "succeeded" and cells[owls]["score"] > 0.8
    assert cells[owls]["delta"] is None and cells[owls]["ci"] is None
    assert "AutoGluon baseline is queued" in cells[owls]["reason"]
    # The tasks with a scored baseline keep their deltas, with no reason.
    scored = cells_on(body, "t-one").values()
    assert all(c["delta"] is not None and c["reason"] is None for c in scored)

    AlgorithmRun.objects.filter(pk=run.pk).update(status=AlgorithmRunStatus.RUNNING)
    body = transfer(world)
    assert {b["task"]: b["status"] for b in body["baselines"]}["t-four"] == "running"
    assert cells_on(body, "t-four")[baseline_algorithm]["status"] == "running"
    assert "AutoGluon baseline is running" in cells_on(body, "t-four")[owls]["reason"]

    AlgorithmRun.objects.filter(pk=run.pk).update(
        status=AlgorithmRunStatus.FAILED,
        error="It hit the memory limit (8192 MiB).",
        limit_hit="memory_mb",
    )
    body = transfer(world)
    state = {b["task"]: b for b in body["baselines"]}["t-four"]
    assert (state["status"], state["error"]) == ("failed", "memory")  # a category, no message
    failed = cells_on(body, "t-four")[baseline_algorithm]
    assert (failed["status"], failed["reason"]) == ("failed", "the run failed")
    assert "AutoGluon baseline failed" in cells_on(body, "t-four")[owls]["reason"]


def test_the_delta_comes_once_the_baseline_is_scored(tmp_path, settings, broker):
    world, four, run = arrived(tmp_path, settings)
    baseline_team = run.version.algorithm.team
    submission = _submit(tmp_path, four, baseline_team, 0.35, 88)
    AlgorithmRun.objects.filter(pk=run.pk).update(
        status=AlgorithmRunStatus.SUCCEEDED, submission=submission, finished_at=timezone.now()
    )
    task_leaderboard_refresh(task_id=four.pk, bootstrap=False)
    body = transfer(world)
    assert {b["task"]: b["status"] for b in body["baselines"]}["t-four"] == "scored"
    owls = cells_on(body, "t-four")[world.algorithms["owls"].pk]
    assert owls["delta"] is not None and owls["delta"] > 0 and owls["reason"] is None


def test_the_page_says_which_cells_wait_and_why(tmp_path, settings, broker):
    world, four, run = arrived(tmp_path, settings)
    html = Client().get(f"/tracks/{world.track.slug}/transfer/").content.decode()
    assert html.count('data-role="baseline-status"') == 1
    assert 'data-status="queued"' in html and ">baseline queued</span>" in html
    assert 'data-role="pending">queued</span>' in html
    assert "no Δ yet: the task&#x27;s AutoGluon baseline is queued" in html
    # The track's board says the same in its baseline row, not "not run".
    board = Client().get(f"/tracks/{world.track.slug}/").content.decode()
    assert board.count('data-role="baseline-score" data-status="queued">queued</td>') == 1
    assert board.count('data-role="baseline-score" data-status="scored">') == 3
    assert "not run" not in board


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_shows_the_queued_baseline_and_the_waiting_delta(
    tmp_path, settings, live_server, browser_page, broker
):
    world, four, run = arrived(tmp_path, settings)
    browser_page.goto(f"{live_server.url}/tracks/{world.track.slug}/transfer/")
    column = [t.slug for t in world.track.tasks.order_by("order", "slug")].index("t-four")
    header = browser_page.locator("#transfer-matrix thead th").nth(4 + column)  # after 4 columns
    assert header.locator("a").get_attribute("href") == "/tasks/t-four/leaderboard/"
    status = header.locator('[data-role="baseline-status"]')
    assert status.is_visible() and status.inner_text().lower() == "baseline queued"
    assert browser_page.locator('[data-role="baseline-status"]').count() == 1

    def cell_of(algorithm: str):
        name = browser_page.get_by_role("cell", name=algorithm, exact=True)
        row = browser_page.locator("#transfer-matrix tbody tr").filter(has=name)
        return row.locator(f'td[data-task="{column}"]')

    assert cell_of(run.version.algorithm.name).inner_text().strip().lower() == "queued"
    assert cell_of("crows-method").inner_text().strip().lower() == "queued"
    owls = cell_of("owls-method").inner_text()
    assert "no Δ yet" in owls and "baseline is queued" in owls
    assert cell_of("hawks-method").inner_text().strip().lower() == "not run"
