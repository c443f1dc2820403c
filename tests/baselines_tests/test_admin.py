"""The organizer console: run list, live detail page, artifacts and actions."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, BaselineRun
from algorithms.selectors import baseline_run_list
from tests.scoring_tests.factories import imported_task
from tests.support.baseline_runs import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(organizer) -> Client:
    client = Client()
    client.force_login(organizer)
    return client


def finished_run(task) -> AlgorithmRun:
    run = make_run(
        task,
        status=AlgorithmRunStatus.SUCCEEDED,
        seconds=41.5,
        result={"validation_score": 0.9731, "best_model": "WeightedEnsemble_L2"},
        log_tail="baseline: AutoGluon fit took 30.0 s",
    )
    storage = AlgorithmRun._meta.get_field("predictions").storage
    run.artifacts = {
        "leaderboard.csv": storage.save(
            f"algorithm-runs/{task.slug}/run-{run.pk}/leaderboard.csv",
            ContentFile(b"model,score_val\nGBM,0.97\n"),
        ),
        "fit.log": storage.save(
            f"algorithm-runs/{task.slug}/run-{run.pk}/fit.log", ContentFile(b"fit log line\n")
        ),
    }
    run.save(update_fields=["artifacts"])
    return run


def running_run(task) -> AlgorithmRun:
    return make_run(task, status=AlgorithmRunStatus.RUNNING, log_tail="Fitting model: LightGBM ...")


def url(name: str, *args) -> str:
    return reverse(f"admin:algorithms_baselinerun_{name}", args=args)


def test_the_list_shows_status_elapsed_and_validation_score(console, classification_task):
    finished_run(classification_task)
    page = console.get(url("changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert classification_task.title in html
    assert "Succeeded" in html and "42 s" in html and "0.9731" in html
    assert url("queue") in html  # "Queue baselines for tasks"
    # Only the baseline's runs: a team's run of another algorithm is listed elsewhere.
    assert set(baseline_run_list().values_list("profile", flat=True)) == {"baseline"}


def test_a_finished_run_page_says_how_it_went(console, classification_task):
    run = finished_run(classification_task)
    html = console.get(url("change", run.pk)).content.decode()
    assert "AutoGluon baseline v1 (medium_quality)" in html
    assert "best model WeightedEnsemble_L2" in html and "validation score 0.9731" in html


def test_a_running_run_page_shows_its_log_and_refreshes_it(console, classification_task):
    run = running_run(classification_task)
    html = console.get(url("change", run.pk)).content.decode()
    assert "Fitting model: LightGBM ..." in html
    assert url("tail", run.pk) in html and "setTimeout(refresh, 3000)" in html
    assert url("cancel", run.pk) in html

    tail = console.get(url("tail", run.pk)).json()
    assert tail["status"] == "running" and tail["active"] is True
    assert tail["log_tail"] == "Fitting model: LightGBM ..."


def test_a_finished_run_page_links_its_artifacts_and_stops_refreshing(console, classification_task):
    run = finished_run(classification_task)
    html = console.get(url("change", run.pk)).content.decode()
    assert "setTimeout(refresh" not in html
    assert url("cancel", run.pk) not in html and url("again", run.pk) in html
    assert url("artifact", run.pk, "leaderboard.csv") in html
    assert url("artifact", run.pk, "fit.log") in html

    response = console.get(url("artifact", run.pk, "leaderboard.csv"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"model,score_val\nGBM,0.97\n"
    assert "attachment" in response["Content-Disposition"]
    assert console.get(url("artifact", run.pk, "model.pkl")).status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "participant"])
def test_artifacts_are_for_organizers_only(classification_task, who):
    run = finished_run(classification_task)
    client = Client()
    if who == "participant":
        client.force_login(get_user_model().objects.create_user("alice", password="pw-alice-1"))
    for target in (url("artifact", run.pk, "fit.log"), url("tail", run.pk), url("change", run.pk)):
        response = client.get(target)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_cancel_button_cancels_a_queued_run(console, classification_task):
    run = make_run(classification_task)
    assert console.get(url("cancel", run.pk)).status_code == 405  # POST only
    response = console.post(url("cancel", run.pk), follow=True)
    assert "is cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.CANCELLED


def test_run_again_queues_a_new_run_with_the_same_budget(console, classification_task):
    run = finished_run(classification_task)
    response = console.post(url("again", run.pk), follow=True)
    new = baseline_run_list(task=classification_task).exclude(pk=run.pk).get()
    assert f"Queued run #{new.pk}" in response.content.decode()
    assert (new.status, new.options["presets"], new.options["time_limit"]) == (
        "queued",
        "medium_quality",
        30,
    )
    # Again while that one is queued: refused politely, nothing created.
    response = console.post(url("again", run.pk), follow=True)
    assert "already has a baseline queued" in response.content.decode()
    assert baseline_run_list(task=classification_task).count() == 2


def test_the_list_actions_cancel_and_run_again(console, tmp_path, challenge):
    first = imported_task(tmp_path, challenge=challenge, slug="first")
    second = imported_task(tmp_path, challenge=challenge, slug="second")
    running = running_run(first)
    finished = finished_run(second)
    response = console.post(
        url("changelist"),
        {"action": "cancel", "_selected_action": [running.pk, finished.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "will stop within a few seconds" in html and "has already finished" in html
    running.refresh_from_db()
    assert running.cancel_requested and running.status == AlgorithmRunStatus.RUNNING

    console.post(url("changelist"), {"action": "run_again", "_selected_action": [finished.pk]})
    queued = baseline_run_list(task=second).filter(status=AlgorithmRunStatus.QUEUED)
    assert queued.count() == 1


def test_the_queue_page_queues_the_selected_tasks(console, tmp_path, challenge):
    picked = imported_task(tmp_path, challenge=challenge, slug="picked")
    done = imported_task(tmp_path, challenge=challenge, slug="done")
    left = imported_task(tmp_path, challenge=challenge, slug="left")
    finished_run(done)
    page = console.get(url("queue"))
    assert page.status_code == 200 and "picked: " in page.content.decode()

    response = console.post(
        url("queue"),
        {
            "tasks": [picked.pk, done.pk],
            "presets": "medium_quality",
            "time_limit": 60,
            "skip_succeeded": "on",
        },
        follow=True,
    )
    html = response.content.decode()
    run = baseline_run_list(task=picked).get()
    assert f"Queued run #{run.pk} for picked" in html
    assert "Skipped done: has a succeeded baseline" in html
    assert run.options["time_limit"] == 60
    assert not baseline_run_list(task=left).exists()
    assert baseline_run_list(task=done).count() == 1


def test_the_queue_page_refuses_a_budget_the_worker_cannot_hold(console, classification_task):
    response = console.post(
        url("queue"),
        {"tasks": [classification_task.pk], "presets": "medium_quality", "time_limit": 100_000},
    )
    assert response.status_code == 200
    assert "does not fit the baseline worker" in response.content.decode()
    assert not BaselineRun.objects.exists()


def test_runs_cannot_be_added_or_edited_by_hand(console, classification_task):
    run = finished_run(classification_task)
    assert console.get(url("add")).status_code == 403
    html = console.get(url("change", run.pk)).content.decode()
    assert 'name="_save"' not in html
