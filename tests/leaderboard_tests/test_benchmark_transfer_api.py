"""The transfer API's decomposition and frontier (docs/architecture.md §12) over a real
matrix: exact keys, the same numbers as the core on the same cells, the owner teams' home advantage,
empty and private cases."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from leaderboard.core.benchmark.frontier import CostPoint, quality_cost_frontier
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.scoring_tests.factories import api_client_for

from .benchmark_world import CPU, bench_world, core_decomposition

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(redis_server, redis_client):
    """A real Redis: a live server's commits publish scoring jobs (none is run here)."""
    redis_client.flushall()
    return redis_client


DECOMPOSITION_KEYS = {"algorithm_effects", "task_difficulty", "interaction_share", "home_advantage"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _url(track) -> str:
    return f"/api/v1/tracks/{track.slug}/transfer/"


def test_shape_has_every_design_key(tmp_path):
    world = bench_world(tmp_path)
    body = APIClient().get(_url(world.track)).json()
    assert {"algorithms", "tasks", "cells", "decomposition", "frontier"} <= set(body)
    cell = body["cells"][0]
    assert {"algorithm", "version", "task", "status", "score", "delta", "ci", "cpu_seconds"} <= set(
        cell
    )
    d = body["decomposition"]
    assert set(d) >= DECOMPOSITION_KEYS
    assert len(d["algorithm_effects"]) == 3 and len(d["task_difficulty"]) == 3
    for effect in d["algorithm_effects"]:
        assert {"algorithm", "effect", "ci"} <= set(effect)
        assert isinstance(effect["algorithm"], int) and len(effect["ci"]) == 2
        assert effect["ci"][0] <= effect["effect"] <= effect["ci"][1]
    for effect in d["task_difficulty"]:
        assert {"task", "effect", "ci"} <= set(effect)
        assert effect["task"] in {"t-one", "t-two", "t-three"}
    assert 0.0 <= d["interaction_share"] <= 1.0
    for home in d["home_advantage"]:
        assert {"team", "value", "ci"} <= set(home)
    f = body["frontier"]
    assert {"points", "frontier"} <= set(f)
    assert {p["algorithm"] for p in f["points"]} == {a["id"] for a in body["algorithms"]}


def test_decomposition_matches_the_core_on_the_same_numbers(tmp_path):
    world = bench_world(tmp_path)
    body = APIClient().get(_url(world.track)).json()
    d = body["decomposition"]
    core = core_decomposition(world)
    by_id = {e["algorithm"]: e for e in d["algorithm_effects"]}
    for effect in core.algorithm_effects:
        api = by_id[int(effect.algorithm)]
        assert api["effect"] == pytest.approx(effect.effect, abs=1e-12)
        assert api["ci"] == pytest.approx(list(effect.ci), abs=1e-12)
    by_task = {e["task"]: e for e in d["task_difficulty"]}
    for effect in core.task_difficulty:
        assert by_task[effect.task]["effect"] == pytest.approx(effect.effect, abs=1e-12)
        assert by_task[effect.task]["ci"] == pytest.approx(list(effect.ci), abs=1e-12)
    assert d["interaction_share"] == pytest.approx(core.interaction_share, abs=1e-12)
    homes = {h["team_id"]: h for h in d["home_advantage"]}
    assert set(homes) == {world.teams["owls"].pk, world.teams["hawks"].pk}
    for home in core.home_advantage:
        assert homes[home.team]["value"] == pytest.approx(home.value, abs=1e-12)
        assert homes[home.team]["team"] in {"owls", "hawks"}
    # hawks are good on their own task only: a clear positive home advantage
    assert homes[world.teams["hawks"].pk]["value"] > 0
    # owls are best everywhere: the largest algorithm effect
    best = max(d["algorithm_effects"], key=lambda e: e["effect"])
    assert best["algorithm"] == world.algorithms["owls"].pk


def test_frontier_is_quality_against_mean_cpu_seconds(tmp_path):
    world = bench_world(tmp_path)
    body = APIClient().get(_url(world.track)).json()
    mean_delta = {a["id"]: a["mean_delta"] for a in body["algorithms"]}
    points = {p["algorithm"]: p for p in body["frontier"]["points"]}
    for name, algorithm in world.algorithms.items():
        assert points[algorithm.pk]["cpu_seconds"] == pytest.approx(CPU[name] + 1.0)  # +0,+1,+2
        assert points[algorithm.pk]["quality"] == pytest.approx(mean_delta[algorithm.pk])
    expected = quality_cost_frontier(
        points=[
            CostPoint(name=str(pk), quality=q, cpu_seconds=points[pk]["cpu_seconds"])
            for pk, q in mean_delta.items()
        ]
    )
    assert body["frontier"]["frontier"] == [int(n) for n in expected.frontier]
    # crows cost the most and are not the best: dominated
    crows = points[world.algorithms["crows"].pk]
    assert not crows["on_frontier"] and crows["dominated_by"] is not None
    for cell in body["cells"]:
        assert cell["cpu_seconds"] is not None


def test_no_owner_no_home_advantage(tmp_path):
    world = bench_world(tmp_path, owners=False)
    d = APIClient().get(_url(world.track)).json()["decomposition"]
    assert d["home_advantage"] == [] and len(d["algorithm_effects"]) == 3


def test_empty_track_gives_nulls_and_empty_lists():
    challenge = ChallengeFactory(slug="empty")
    track = TrackFactory(challenge=challenge, slug="empty-track")
    response = APIClient().get(_url(track))
    assert response.status_code == 200
    body = response.json()
    d = body["decomposition"]
    assert d["algorithm_effects"] == [] and d["task_difficulty"] == []
    assert d["home_advantage"] == [] and d["interaction_share"] is None
    assert body["frontier"]["points"] == [] and body["frontier"]["frontier"] == []


def test_one_cell_gives_no_interaction_and_no_500(tmp_path):
    world = bench_world(tmp_path)
    for name in ("hawks", "crows"):
        world.algorithms[name].delete()
    for slug in ("t-two", "t-three"):
        world.tasks[slug].algorithm_runs.all().delete()
    response = APIClient().get(_url(world.track))
    assert response.status_code == 200
    d = response.json()["decomposition"]
    assert d["interaction_share"] is None and d["note"]
    (only,) = [e for e in d["algorithm_effects"]]
    assert only["effect"] == 0.0 and only["note"]


def test_private_decomposition_only_after_the_reveal(tmp_path):
    world = bench_world(tmp_path)
    participant = api_client_for(world.users["owls"])
    assert participant.get(_url(world.track) + "?split=private").status_code == 403
    organizer = api_client_for(get_user_model().objects.create_user("org", is_staff=True))
    private = organizer.get(_url(world.track) + "?split=private").json()
    public = participant.get(_url(world.track)).json()
    assert private["split"] == "private" and public["split"] == "public"
    assert (
        private["decomposition"]["algorithm_effects"]
        != public["decomposition"]["algorithm_effects"]
    )
    core = core_decomposition(world, split="private")
    by_id = {e["algorithm"]: e for e in private["decomposition"]["algorithm_effects"]}
    for effect in core.algorithm_effects:
        assert by_id[int(effect.algorithm)]["effect"] == pytest.approx(effect.effect, abs=1e-12)
    world.challenge.private_revealed = True
    world.challenge.save(update_fields=["private_revealed"])
    after = participant.get(_url(world.track) + "?split=private")
    assert after.status_code == 200
    assert after.json()["decomposition"] == private["decomposition"]


def test_an_unreadable_prediction_file_is_left_out_not_a_500(tmp_path):
    world = bench_world(tmp_path)
    run = world.algorithms["crows"].versions.get().runs.get(task=world.tasks["t-one"])
    with open(run.submission.predictions.path, "wb") as handle:
        handle.write(b"\x00garbage")
    response = APIClient().get(_url(world.track))
    assert response.status_code == 200
    d = response.json()["decomposition"]
    crows = next(e for e in d["algorithm_effects"] if e["algorithm"] == run.version.algorithm_id)
    assert crows["n_tasks"] == 2


def test_transfer_page_shows_the_decomposition_the_frontier_and_cpu_seconds(tmp_path):
    world = bench_world(tmp_path)
    html = Client().get(f"/tracks/{world.track.slug}/transfer/").content.decode()
    assert 'id="effects-plot"' in html and 'id="frontier-plot"' in html
    assert html.count('class="effect"') == 6  # three algorithms, three tasks
    assert html.count('class="interval"') >= 6
    assert 'id="interaction-share"' in html and 'id="home-advantage"' in html
    home = html[html.index('id="home-advantage"') :]
    assert "owls" in home and "hawks" in home
    assert html.count('data-role="cpu-seconds"') == 9
    assert "40.0 CPU-s" in html  # owls on its first task
    assert html.count("on the frontier</span>") >= 1


def test_task_board_shows_the_cpu_seconds_of_algorithm_entries(tmp_path):
    bench_world(tmp_path)
    body = APIClient().get("/api/v1/tasks/t-two/leaderboard/").json()
    seconds = {e["team"]: e["cpu_seconds"] for e in body["entries"]}
    assert seconds["owls"] == pytest.approx(41.0) and seconds["hawks"] == pytest.approx(6.0)
    assert seconds["AutoGluon baseline"] is None  # uploaded by the job, not an algorithm run
    html = Client().get("/tasks/t-two/leaderboard/").content.decode()
    assert "41.0 CPU-s" in html and "6.0 CPU-s" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_renders_the_decomposition_plot(tmp_path, live_server, browser_page, broker):
    world = bench_world(tmp_path)
    browser_page.goto(f"{live_server.url}/tracks/{world.track.slug}/transfer/")
    plot = browser_page.locator("#effects-plot svg")
    assert plot.is_visible()
    box = plot.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert browser_page.locator("#effects-plot svg circle.effect").count() == 6
    assert browser_page.locator("#frontier-plot svg circle.algorithm-point").count() == 3
    # every drawn dot lies inside its picture
    for circle in browser_page.locator("#effects-plot svg circle.effect").all():
        c = circle.bounding_box()
        assert box["x"] <= c["x"] and c["x"] + c["width"] <= box["x"] + box["width"]


def test_hostile_names_are_text_in_the_page_and_the_plots(tmp_path):
    world = bench_world(tmp_path)
    world.algorithms["owls"].name = '<script>alert("x")</script>'
    world.algorithms["owls"].save(update_fields=["name"])
    team = world.teams["hawks"]
    team.name = "</svg><img src=x onerror=alert(1)>\x1b"
    team.save(update_fields=["name"])
    response = Client().get(f"/tracks/{world.track.slug}/transfer/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    body = APIClient().get(_url(world.track)).json()
    names = {e["name"] for e in body["decomposition"]["algorithm_effects"]}
    assert '<script>alert("x")</script>' in names


def test_the_baselines_own_runs_are_the_reference_not_an_algorithm_of_the_fit(tmp_path):
    """The AutoGluon baseline is an algorithm run too: its row is in the matrix (delta 0 on
    every task) but not in the decomposition, whose effects stay those of the methods."""
    from django.utils import timezone

    from algorithms.models import (
        BASELINE_PROFILE,
        Algorithm,
        AlgorithmRun,
        AlgorithmRunStatus,
        AlgorithmVersion,
    )
    from leaderboard.models import LeaderboardEntry

    world = bench_world(tmp_path)
    before = APIClient().get(_url(world.track)).json()["decomposition"]
    entry = LeaderboardEntry.objects.filter(task__in=world.tasks.values(), is_baseline=True)
    baseline_team = entry.first().submission.team
    algorithm = Algorithm.objects.create(
        challenge=world.challenge, team=baseline_team, name="AutoGluon baseline"
    )
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="b.zip", archive_sha256="1" * 64
    )
    for task in world.tasks.values():
        AlgorithmRun.objects.create(
            version=version,
            task=task,
            profile=BASELINE_PROFILE,
            status=AlgorithmRunStatus.SUCCEEDED,
            submission=entry.get(task=task, split="public").submission,
            finished_at=timezone.now(),
        )
    cache.clear()
    body = APIClient().get(_url(world.track)).json()
    assert algorithm.pk in {row["id"] for row in body["algorithms"]}  # shown in the matrix
    after = body["decomposition"]
    assert algorithm.pk not in {e["algorithm"] for e in after["algorithm_effects"]}
    assert after["algorithm_effects"] == before["algorithm_effects"]
    assert after["interaction_share"] == pytest.approx(before["interaction_share"])


def test_a_new_cell_shows_at_once_and_the_fit_follows_from_a_worker(tmp_path):
    """At company scale a fit takes tens of seconds: a new run's cell is on the matrix at
    once, with the track's last fit marked ``updating``; once a worker has refitted (the
    task the reader queued), the fit is of the new matrix."""
    from algorithms.models import AlgorithmRun, AlgorithmRunStatus
    from leaderboard.tasks import transfer_decomposition_refit

    from .benchmark_world import _submit

    world = bench_world(tmp_path)
    before = APIClient().get(_url(world.track)).json()
    assert before["decomposition"]["updating"] is False
    task, team = world.tasks["t-two"], world.teams["owls"]
    version = world.algorithms["owls"].versions.get()
    better = _submit(tmp_path, task, team, 0.02, seed=77)
    run = AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=better,
        cpu_seconds=1.0,
        finished_at=timezone.now(),
    )

    meanwhile = APIClient().get(_url(world.track)).json()
    mine = version.algorithm_id
    cell = next(c for c in meanwhile["cells"] if c["task"] == task.slug and c["algorithm"] == mine)
    assert cell["run"] == run.pk  # the new cell, at once
    assert meanwhile["decomposition"]["updating"] is True
    effects = before["decomposition"]["algorithm_effects"]
    assert meanwhile["decomposition"]["algorithm_effects"] == effects

    transfer_decomposition_refit.run(track_id=world.track.pk, split="public")
    after = APIClient().get(_url(world.track)).json()
    assert after["decomposition"]["updating"] is False
    assert after["decomposition"]["algorithm_effects"] != effects
    page = Client().get(f"/tracks/{world.track.slug}/transfer/").content.decode()
    assert 'id="decomposition-updating"' not in page


def test_the_matrix_reads_its_runs_in_queries_that_do_not_grow_with_them(tmp_path):
    """The API and the page read each run with what they show (no field loaded run by run):
    more runs, the same number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from algorithms.models import AlgorithmRun, AlgorithmRunStatus

    from .benchmark_world import _submit

    world = bench_world(tmp_path)
    paths = (_url(world.track), f"/tracks/{world.track.slug}/transfer/")

    def queries() -> list[int]:
        counts = []
        for path in paths:
            Client().get(path)  # the cells in the cache
            with CaptureQueriesContext(connection) as captured:
                assert Client().get(path).status_code == 200
            counts.append(len(captured))
        return counts

    before = queries()
    from algorithms.models import Algorithm, AlgorithmVersion
    from tests.scoring_tests.factories import make_participant

    newcomer = make_participant(world.challenge, username="newcomer", name="newcomer").team
    version = AlgorithmVersion.objects.create(
        algorithm=Algorithm.objects.create(
            challenge=world.challenge, team=newcomer, name="newcomer-method"
        ),
        number=1,
        archive="x.zip",
        archive_sha256="0" * 64,
    )
    for offset, task in enumerate(world.tasks.values()):  # a fourth row of cells
        AlgorithmRun.objects.create(
            version=version,
            task=task,
            status=AlgorithmRunStatus.SUCCEEDED,
            submission=_submit(tmp_path, task, newcomer, 0.3, seed=200 + offset),
            cpu_seconds=2.0,
            finished_at=timezone.now(),
        )
    assert queries() == before
