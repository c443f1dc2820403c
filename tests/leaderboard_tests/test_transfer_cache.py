"""The transfer API's and page's kept answers (leaderboard/cache/transfer_cache.py) on the real
board cache (the session's Redis): a warm read does not read the runs again; every event
that changes the answer (a new run scored, a run failing, a new data version, a baseline's
new score, a rename) shows at the next read, equal to what the database says; an answer
kept for an organizer's private split never reaches a team member or an anonymous visitor,
and a logged-in reader's page never reaches anyone else."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.signals import post_init
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from leaderboard.cache import transfer_cache
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from tests.scoring_tests.factories import api_client_for

from .benchmark_world import _submit, bench_world

pytestmark = pytest.mark.django_db

SHOWN = ("tasks", "algorithms", "cells", "baselines", "frontier")


def _api(track) -> str:
    return f"/api/v1/tracks/{track.slug}/transfer/"


def _page(track) -> str:
    return f"/tracks/{track.slug}/transfer/"


def _shown(answer: dict) -> dict:
    """What the matrix shows (the decomposition is refitted by a worker; its own test)."""
    return {key: answer[key] for key in SHOWN}


def _fresh(settings, client, path: str) -> dict:
    """The answer computed from the database, the cache off."""
    settings.BOARD_CACHE = False
    try:
        return client.get(path).json()
    finally:
        settings.BOARD_CACHE = True


def _cell(answer: dict, algorithm_id: int, task_slug: str) -> dict | None:
    return next(
        (c for c in answer["cells"] if c["algorithm"] == algorithm_id and c["task"] == task_slug),
        None,
    )


def _runs_read(captured) -> bool:
    """Whether a query read the runs' rows (what assembling the matrix does)."""
    return any('"algorithms_algorithmrun"."predictions"' in q["sql"] for q in captured)


def test_a_warm_answer_is_kept_and_served_without_reading_the_runs(tmp_path, redis_cache):
    world = bench_world(tmp_path)
    for path in (_api(world.track), _page(world.track)):
        with CaptureQueriesContext(connection) as cold:
            first = Client().get(path)
        with CaptureQueriesContext(connection) as warm:
            second = Client().get(path)
        assert first.status_code == second.status_code == 200
        assert _runs_read(cold) and not _runs_read(warm), path
        if path.startswith("/api/"):
            assert second.content == first.content  # the same bytes, kept
        else:
            assert second.content.decode().count('class="cell') == 9  # 3 algorithms x 3 tasks


def test_a_new_run_scored_shows_at_the_next_read(tmp_path, redis_cache, settings):
    world = bench_world(tmp_path)
    client = APIClient()
    before = client.get(_api(world.track)).json()
    task, team = world.tasks["t-two"], world.teams["crows"]
    version = AlgorithmVersion.objects.create(
        algorithm=world.algorithms["crows"], number=2, archive="x.zip", archive_sha256="1" * 64
    )
    run = AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=_submit(tmp_path, task, team, 0.01, seed=91),
        cpu_seconds=3.0,
        finished_at=timezone.now(),
    )
    after = client.get(_api(world.track)).json()
    cell = _cell(after, world.algorithms["crows"].pk, task.slug)
    assert cell["run"] == run.pk and cell["version"] == 2
    assert cell["score"] != _cell(before, world.algorithms["crows"].pk, task.slug)["score"]
    assert _shown(after) == _shown(_fresh(settings, client, _api(world.track)))
    page = Client().get(_page(world.track)).content.decode()
    assert f"{cell['delta']:+.4f}" in page


def test_a_run_failing_shows_even_when_only_its_status_is_written(tmp_path, redis_cache, settings):
    """A newer version's run queued, then failed by a plain status update (no change time
    written: the fingerprint counts runs per status, not only the newest change)."""
    world = bench_world(tmp_path)
    client = APIClient()
    task, algorithm = world.tasks["t-one"], world.algorithms["owls"]
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=2, archive="x.zip", archive_sha256="2" * 64
    )
    run = AlgorithmRun.objects.create(version=version, task=task, status=AlgorithmRunStatus.QUEUED)
    queued = client.get(_api(world.track)).json()
    assert _cell(queued, algorithm.pk, task.slug)["status"] == "succeeded"  # v1 still speaks
    AlgorithmRun.objects.filter(pk=run.pk).update(
        status=AlgorithmRunStatus.FAILED,
        error="stopped: the algorithm hit the memory limit",
        limit_hit="memory_mb",
        finished_at=timezone.now(),
    )
    failed = client.get(_api(world.track)).json()
    cell = _cell(failed, algorithm.pk, task.slug)
    assert (cell["run"], cell["status"], cell["failure"]) == (run.pk, "failed", "memory")
    assert _shown(failed) == _shown(_fresh(settings, client, _api(world.track)))
    page = Client().get(_page(world.track)).content.decode()
    assert 'data-failure="memory"' in page and "stopped: the algorithm" not in page


def test_a_new_data_version_shows_at_the_next_read(tmp_path, redis_cache, settings):
    """The rescore of a new data version: every submission of the task back in the queue
    (its cells wait), then scored again (they are back)."""
    from scoring.services.sweep import task_submissions_requeue

    world = bench_world(tmp_path)
    client = APIClient()
    task = world.tasks["t-three"]
    before = client.get(_api(world.track)).json()
    assert sum(c["task"] == task.slug for c in before["cells"]) == 3
    task.data_version += 1
    task.save(update_fields=["data_version"])
    task_submissions_requeue(task_id=task.pk)
    waiting = client.get(_api(world.track)).json()
    assert not any(c["task"] == task.slug for c in waiting["cells"])  # being scored again
    assert _shown(waiting) == _shown(_fresh(settings, client, _api(world.track)))
    for submission in Submission.objects.filter(task=task):
        assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    again = client.get(_api(world.track)).json()
    assert sum(c["task"] == task.slug for c in again["cells"]) == 3
    assert _shown(again) == _shown(_fresh(settings, client, _api(world.track)))


def test_a_baselines_new_score_moves_every_delta_of_its_task(tmp_path, redis_cache, settings):
    from algorithms.services.builtin import baseline_team_get_or_create

    world = bench_world(tmp_path)
    client = APIClient()
    task = world.tasks["t-one"]
    before = client.get(_api(world.track)).json()
    baseline = baseline_team_get_or_create(challenge=world.challenge)
    _submit(tmp_path, task, baseline, 0.0, seed=300)  # a perfect baseline: its best
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    after = client.get(_api(world.track)).json()
    for algorithm in world.algorithms.values():
        old, new = _cell(before, algorithm.pk, task.slug), _cell(after, algorithm.pk, task.slug)
        assert new["score"] == old["score"] and new["delta"] < old["delta"]
    assert _shown(after) == _shown(_fresh(settings, client, _api(world.track)))


def test_a_renamed_algorithm_shows_at_the_next_read(tmp_path, redis_cache):
    world = bench_world(tmp_path)
    Client().get(_page(world.track))
    algorithm = world.algorithms["hawks"]
    algorithm.name = "falcon-method"
    algorithm.save(update_fields=["name"])
    assert "falcon-method" in Client().get(_page(world.track)).content.decode()
    names = {a["name"] for a in APIClient().get(_api(world.track)).json()["algorithms"]}
    assert "falcon-method" in names


def test_an_updating_fit_is_not_kept_the_workers_fit_shows_next(tmp_path, redis_cache):
    from leaderboard.tasks import transfer_decomposition_refit

    world = bench_world(tmp_path)
    client = APIClient()
    client.get(_api(world.track))
    task, team = world.tasks["t-two"], world.teams["owls"]
    AlgorithmRun.objects.create(
        version=world.algorithms["owls"].versions.get(),
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=_submit(tmp_path, task, team, 0.02, seed=77),
        cpu_seconds=1.0,
        finished_at=timezone.now(),
    )
    assert client.get(_api(world.track)).json()["decomposition"]["updating"] is True
    assert 'id="decomposition-updating"' in Client().get(_page(world.track)).content.decode()
    transfer_decomposition_refit.run(track_id=world.track.pk, split="public")
    assert client.get(_api(world.track)).json()["decomposition"]["updating"] is False
    assert 'id="decomposition-updating"' not in Client().get(_page(world.track)).content.decode()


def _who(page: str) -> str | None:
    """The user the page's header names (None: nobody logged in)."""
    found = re.search(r'<a class="who"[^>]*>([^<]*)</a>', page)
    return found.group(1) if found else None


def _private_scores(answer: dict) -> set[float]:
    return {c["score"] for c in answer["cells"] if c["score"] is not None}


def test_an_organizers_private_answer_never_reaches_a_team_or_a_visitor(tmp_path, redis_cache):
    """Hostile: the organizer's private matrix is in the cache; a team member and an
    anonymous visitor ask for it by the API and the page, then for the public one."""
    world = bench_world(tmp_path)
    organizer_user = get_user_model().objects.create_user("org", is_staff=True)
    organizer = api_client_for(organizer_user)
    private = organizer.get(_api(world.track) + "?split=private")
    assert private.status_code == 200 and private.json()["split"] == "private"
    browser = Client()
    browser.force_login(organizer_user)
    organizer_page = browser.get(_page(world.track) + "?split=private").content.decode()
    assert "(private rows)" in organizer_page

    member = api_client_for(world.users["owls"])
    anonymous = APIClient()
    public = anonymous.get(_api(world.track)).json()
    secret = _private_scores(private.json()) - _private_scores(public)
    assert secret  # the private split's scores differ from the public ones
    for reader in (member, anonymous):
        refused = reader.get(_api(world.track) + "?split=private")
        assert refused.status_code == 403
        assert not any(repr(s) in refused.content.decode() for s in secret)
        answer = reader.get(_api(world.track))
        assert answer.json()["split"] == "public"
        assert not any(repr(s) in answer.content.decode() for s in secret)

    member_browser = Client()
    member_browser.force_login(world.users["owls"])
    for browser in (member_browser, Client()):
        assert browser.get(_page(world.track) + "?split=private").status_code == 404
        page = browser.get(_page(world.track)).content.decode()
        assert "(public rows)" in page and "(private rows)" not in page
        assert 'id="split-toggle"' not in page  # the organizer's page links the private split
        assert _who(page) != "org"  # nor the organizer's header


def test_a_logged_in_readers_page_never_reaches_another_reader(tmp_path, redis_cache):
    world = bench_world(tmp_path)
    member = Client()
    member.force_login(world.users["hawks"])
    mine = member.get(_page(world.track)).content.decode()
    assert _who(mine) == world.users["hawks"].username  # the header is theirs
    for other in (Client(), APIClient()):
        page = other.get(_page(world.track)).content.decode()
        assert _who(page) is None
        assert "Log out" not in page and "Log in" in page
    organizer_user = get_user_model().objects.create_user("org2", is_staff=True)
    organizer = Client()
    organizer.force_login(organizer_user)
    page = organizer.get(_page(world.track)).content.decode()
    assert 'id="split-toggle"' in page and _who(page) == "org2"  # its own link and header
    world.challenge.private_revealed = True
    world.challenge.save(update_fields=["private_revealed"])
    assert 'id="split-toggle"' in Client().get(_page(world.track)).content.decode()
    world.challenge.private_revealed = False
    world.challenge.save(update_fields=["private_revealed"])
    assert Client().get(_page(world.track) + "?split=private").status_code == 404
    assert 'id="split-toggle"' not in Client().get(_page(world.track)).content.decode()


def test_a_new_cell_reads_only_its_tasks_column_again(tmp_path, redis_cache, settings):
    """The matrix is kept column by column: after a new run on one task, the runs read
    from the database are that task's, and the answer is the one the database gives."""
    world = bench_world(tmp_path)
    client = APIClient()
    client.get(_api(world.track))
    task, team = world.tasks["t-three"], world.teams["hawks"]
    AlgorithmRun.objects.create(
        version=world.algorithms["hawks"].versions.get(),
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=_submit(tmp_path, task, team, 0.0, seed=55),
        cpu_seconds=2.0,
        finished_at=timezone.now(),
    )
    read: list[AlgorithmRun] = []

    def count(sender, instance, **kwargs) -> None:
        read.append(instance)

    post_init.connect(count, sender=AlgorithmRun)
    try:
        after = client.get(_api(world.track)).json()
    finally:
        post_init.disconnect(count, sender=AlgorithmRun)
    assert read and {run.task_id for run in read} == {task.pk}
    assert _cell(after, world.algorithms["hawks"].pk, task.slug)["score"] == 1.0
    assert _shown(after) == _shown(_fresh(settings, client, _api(world.track)))


def test_a_miss_reads_its_changed_columns_in_queries_that_do_not_grow_with_them(
    tmp_path, redis_cache
):
    """One changed column or all three: no more queries (the missing columns are read
    together; with one, the kept columns' versions are one query more), and the answer is
    the new one."""
    world = bench_world(tmp_path)
    client = APIClient()
    version = AlgorithmVersion.objects.create(
        algorithm=world.algorithms["crows"], number=2, archive="x.zip", archive_sha256="3" * 64
    )

    def queries_after_runs_on(tasks) -> int:
        client.get(_api(world.track))  # everything kept
        for task in tasks:
            AlgorithmRun.objects.create(
                version=version, task=task, status=AlgorithmRunStatus.FAILED, exit_code=1
            )
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(_api(world.track)).json()
        for task in tasks:
            assert _cell(answer, world.algorithms["crows"].pk, task.slug)["error"] == "exit code"
        return len(captured)

    one = queries_after_runs_on([world.tasks["t-one"]])
    AlgorithmRun.objects.filter(version=version).delete()
    assert queries_after_runs_on(list(world.tasks.values())) <= one


def test_the_page_after_a_new_cell_renders_that_algorithms_row_again_only(
    tmp_path, redis_cache, settings
):
    world = bench_world(tmp_path)
    Client().get(_page(world.track))
    task, team = world.tasks["t-two"], world.teams["owls"]
    AlgorithmRun.objects.create(
        version=world.algorithms["owls"].versions.get(),
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=_submit(tmp_path, task, team, 0.0, seed=66),
        cpu_seconds=1.5,
        finished_at=timezone.now(),
    )
    response = Client().get(_page(world.track))
    rendered = [t.name for t in response.templates]
    assert rendered.count("leaderboard/transfer_row.html") == 1  # owls' row; 2 kept
    assert rendered.count("leaderboard/transfer_robustness_row.html") == 0  # unchanged
    settings.BOARD_CACHE = False
    fresh = Client().get(_page(world.track))
    assert response.content == fresh.content


def test_an_edited_row_template_is_a_miss_not_the_rows_kept_before(tmp_path, redis_cache, settings):
    """A kept row's key holds its template's source (a digest of it, taken once per loaded
    template): the same template in a new process is still a hit, an edited one a miss."""
    folder = tmp_path / "templates"
    (folder / "rows").mkdir(parents=True)
    row = folder / "rows" / "row.html"
    engines = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [folder]}]

    def new_process() -> None:  # the template engines load every template again
        settings.TEMPLATES = [dict(engine) for engine in engines]

    row.write_text("<tr>{{ value }}</tr>")
    new_process()
    assert transfer_cache.fragments(
        template="rows/row.html", contexts=[(("a", 1), {"value": 1})]
    ) == ["<tr>1</tr>"]
    new_process()  # the same source: kept (a different context for the same shown values)
    assert transfer_cache.fragments(
        template="rows/row.html", contexts=[(("a", 1), {"value": 2})]
    ) == ["<tr>1</tr>"]
    row.write_text('<tr class="edited">{{ value }}</tr>')
    new_process()
    assert transfer_cache.fragments(
        template="rows/row.html", contexts=[(("a", 1), {"value": 1})]
    ) == ['<tr class="edited">1</tr>']


def test_an_edited_sections_template_shows_at_the_next_read(tmp_path, redis_cache, settings):
    """The page's kept sections are keyed by their template's source as well."""
    world = bench_world(tmp_path)
    assert Client().get(_page(world.track)).content.decode().count('class="cell') == 9
    folder = tmp_path / "templates"
    (folder / "leaderboard").mkdir(parents=True)
    (folder / "leaderboard" / "transfer_sections.html").write_text("<p>edited sections</p>")
    engine = dict(settings.TEMPLATES[0])
    settings.TEMPLATES = [{**engine, "DIRS": [folder]}]  # found first: an edited template
    assert "<p>edited sections</p>" in Client().get(_page(world.track)).content.decode()
