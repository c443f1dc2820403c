"""A task is benchmarked on arrival: whichever way it is imported (``manage.py import_task``,
the console, a new data version by command, console or owner API), its AutoGluon baseline
and its trivial baseline are queued in the transaction that adds it and published after
commit on the real broker, never twice while one is pending; a real worker then builds and
scores the trivial baseline, which appears on the task's board with no one acting."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import ACTIVE, BaselineRun
from datasets.models import Task
from datasets.version_uploads import task_version_check
from jobs.republish import jobs_republish
from scoring.models import Reference, ReferenceBuild, ReferenceSource
from scoring.services.reference_builds import (
    TRIVIAL_BUILD,
    reference_builds_sweep,
    reference_trivial_build,
    reference_trivial_queue,
)
from testkit.bundles import write_classification_bundle, zip_bundle
from tests.scoring_tests.factories import api_client_for, imported_task, make_participant
from tests.support.broker import queued_messages, task_of
from tests.support.celery_worker import REPO, WorkerProcess, manage_env
from tests.support.waiting import wait_for

BASELINE_TASK = "algorithms.tasks.run_baseline"
BUILD_TASK = "scoring.tasks.build_trivial_reference"


@pytest.fixture
def arrival(settings):
    settings.BENCHMARK_ON_ARRIVAL = True


def published(redis_client) -> set[tuple[str, tuple]]:
    """(task name, sorted kwargs) of every message waiting on the two queues."""
    found = set()
    for queue in ("baselines", "scoring"):
        for message in queued_messages(redis_client, queue):
            name, kwargs, _priority = task_of(message)
            found.add((name, tuple(sorted(kwargs.items()))))
    return found


def pending(task: Task) -> tuple[list[int], list[int]]:
    """The task's active baseline runs and pending trivial baseline builds (ids)."""
    active = BaselineRun.objects.filter(task=task, status__in=ACTIVE)
    runs = list(active.values_list("pk", flat=True))
    builds = list(
        ReferenceBuild.objects.filter(task=task, status__in=("queued", "building")).values_list(
            "pk", flat=True
        )
    )
    return runs, builds


def expected_messages(task: Task) -> set[tuple[str, tuple]]:
    (run,), (build,) = pending(task)
    return {(BASELINE_TASK, (("run_pk", run),)), (BUILD_TASK, (("build_pk", build),))}


def new_zip(tmp_path: Path, name: str, **overrides) -> Path:
    folder = write_classification_bundle(tmp_path / name, **overrides)
    return zip_bundle(folder, tmp_path / f"{name}.zip")


@pytest.fixture
def broker(redis_server, redis_client):
    redis_client.flushall()
    return redis_client


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_import_task_queues_both_and_a_worker_scores_the_trivial_baseline(
    tmp_path, broker, redis_server
) -> None:
    bundle = write_classification_bundle(tmp_path / "b", task={"slug": "arrives"})
    env = {**manage_env(), "BENCHMARK_ON_ARRIVAL": "1", "REDIS_URL": redis_server.url}
    done = subprocess.run(
        [sys.executable, "manage.py", "import_task", str(bundle), "--challenge", "cup",
         "--track", "kway"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    task = Task.objects.get(slug="arrives")
    runs, builds = pending(task)
    assert len(runs) == 1 and len(builds) == 1
    assert BaselineRun.objects.get(pk=runs[0]).status == "queued"
    # Published after the import's commit, on the real broker: nothing waits for a person.
    assert published(broker) == expected_messages(task)
    assert Client().get("/api/v1/tasks/arrives/leaderboard/").json()["entries"] == []

    # A worker of the scoring queue alone (no AutoGluon fit in this test) builds the trivial
    # baseline; the task's board shows it without anyone acting.
    worker = WorkerProcess(
        redis_url=redis_server.url, log_path=tmp_path / "worker.log", queues="scoring"
    ).start()
    try:
        worker.wait_ready()
        wait_for(
            lambda: ReferenceBuild.objects.get(pk=builds[0]).status == "built",
            timeout=120,
            what="the trivial baseline built by the worker",
            worker=worker,
        )
    finally:
        worker.stop()
    trivial = Reference.objects.get(task=task, source=ReferenceSource.TRIVIAL)
    assert trivial.public_score is not None and trivial.predictions
    entries = Client().get("/api/v1/tasks/arrives/leaderboard/").json()["entries"]
    assert [(e["reference"], e["rank"], e["is_baseline"]) for e in entries] == [
        ("Trivial baseline", None, True)
    ]
    assert entries[0]["score"] == pytest.approx(trivial.public_score)


@pytest.mark.django_db
def test_the_console_import_queues_both_after_commit(
    arrival, organizer, tmp_path, broker, django_capture_on_commit_callbacks
) -> None:
    client = Client()
    client.force_login(organizer)
    upload = new_zip(tmp_path, "console", task={"slug": "from-console"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/datasets/task/import/",
            {
                "challenge_slug": "cup",
                "track_slug": "kway",
                "bundle": SimpleUploadedFile("b.zip", upload.read_bytes(), "application/zip"),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get(slug="from-console")
    assert published(broker) == expected_messages(task)


@pytest.mark.django_db
def test_nothing_is_published_when_the_import_rolls_back(
    arrival, tmp_path, broker, django_capture_on_commit_callbacks
) -> None:
    from datasets.services import TaskImportError, task_import

    broken = write_classification_bundle(
        tmp_path / "bad", task={"slug": "broken"}, train=lambda df: df.drop(columns="label")
    )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(TaskImportError):
        task_import(source=broken, challenge_slug="cup", track_slug="kway")
    assert not Task.objects.filter(slug="broken").exists()
    assert ReferenceBuild.objects.count() == 0 and BaselineRun.objects.count() == 0
    assert published(broker) == set()


@pytest.mark.django_db
def test_a_new_data_version_queues_the_baseline_again_never_twice(
    arrival, tmp_path, broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        task = imported_task(tmp_path, slug="versions")
    (first,), (build,) = pending(task)

    # By command, while the first baseline is still queued: no second one.
    v2 = new_zip(tmp_path, "v2", task={"slug": "versions"}, rows=80)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "replace_task_bundle", "versions", str(v2), "--reason", "more rows", stdout=out
        )
    assert "Its AutoGluon baseline is queued again on the new data by itself." in out.getvalue()
    assert pending(task) == ([first], [build])

    # Once it has ended, the next version queues a new one: through the owner API.
    BaselineRun.objects.filter(pk=first).update(status="failed", error="stopped")
    owner = make_participant(task.track.challenge, username="owner")
    Task.objects.filter(pk=task.pk).update(owner_team=owner.team)
    broker.flushall()
    v3 = new_zip(tmp_path, "v3", task={"slug": "versions"}, rows=90)
    with django_capture_on_commit_callbacks(execute=True), v3.open("rb") as handle:
        response = api_client_for(owner.user).post(
            "/api/v1/tasks/versions/versions/",
            {"file": handle, "reason": "90 rows"},
            format="multipart",
        )
    assert response.status_code == 202, response.content  # a worker checks it (issue 51)
    with django_capture_on_commit_callbacks(execute=True):
        assert task_version_check(upload_pk=response.json()["id"]) == "accepted"
    checked = api_client_for(owner.user).get(response.json()["url"]).json()
    assert "queued again on the new data" in checked["message"]
    (second,), builds = pending(task)
    assert second != first and builds == [build]
    assert (BASELINE_TASK, (("run_pk", second),)) in published(broker)
    # The pending build makes the trivial baseline of the data as it is when it runs.
    assert reference_trivial_build(build_pk=build) == "built"
    task.refresh_from_db()
    trivial = Reference.objects.get(task=task, source=ReferenceSource.TRIVIAL)
    assert task.data_version == 3 and trivial.scores["all"]
    with trivial.file.open("rb") as handle:
        assert len(handle.read().splitlines()) == task.test_rows + 1  # header + v3's rows

    # A version that finds no trivial baseline and no pending build queues one.
    ReferenceBuild.objects.all().delete()
    Reference.objects.filter(task=task).delete()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "replace_task_bundle", "versions", str(v2), "--reason", "back to 80", stdout=out
        )
    _, (rebuilt,) = pending(task)
    assert (BUILD_TASK, (("build_pk", rebuilt),)) in published(broker)


@pytest.mark.django_db
def test_a_pending_trivial_build_is_not_queued_twice(arrival, tmp_path) -> None:
    task = imported_task(tmp_path, slug="once")
    (build,) = ReferenceBuild.objects.filter(task=task)
    assert reference_trivial_queue(task=task).pk == build.pk
    ReferenceBuild.objects.filter(pk=build.pk).update(status="built")
    assert reference_trivial_queue(task=task).pk != build.pk


@pytest.mark.django_db
def test_switched_off_an_import_queues_nothing(settings, tmp_path) -> None:
    settings.BENCHMARK_ON_ARRIVAL = False
    task = imported_task(tmp_path, slug="quiet")
    assert pending(task) == ([], [])


@pytest.mark.django_db
def test_a_task_whose_labels_cannot_be_read_fails_its_build_with_the_reason(
    arrival, tmp_path, organizer
) -> None:
    task = imported_task(tmp_path, slug="no-train")
    (build,) = ReferenceBuild.objects.filter(task=task)
    manage = Client()
    manage.force_login(organizer)
    page = manage.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert '<p id="trivial-build" data-status="queued">Trivial baseline: queued' in page
    os.remove(task.train_parquet.path)
    assert reference_trivial_build(build_pk=build.pk) == "failed"
    build.refresh_from_db()
    assert build.error.startswith("The trivial baseline cannot be built: ")
    assert "train.parquet" in build.error
    assert not Reference.objects.filter(task=task).exists()
    page = manage.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert 'data-status="failed">Trivial baseline: <span class="error">its build failed: ' in page
    # A second message for the same build does nothing.
    assert reference_trivial_build(build_pk=build.pk) == "skipped"


@pytest.mark.django_db
def test_a_lost_build_message_is_published_again(
    arrival, tmp_path, broker, settings, django_capture_on_commit_callbacks
) -> None:
    task = imported_task(tmp_path, slug="lost")  # its publish never happened (no commit)
    (build,) = ReferenceBuild.objects.filter(task=task)
    assert published(broker) == set()
    later = timezone.now() + timedelta(seconds=settings.JOB_REPUBLISH_SECONDS)
    assert jobs_republish(job_types=[TRIVIAL_BUILD], now=later) == {BUILD_TASK: [build.pk]}
    assert (BUILD_TASK, (("build_pk", build.pk),)) in published(broker)
    later = timezone.now() + timedelta(seconds=settings.SWEEPER_STALE_AFTER_SECONDS + 1)
    # Its attempts used up, a build stranded while building fails with the reason.
    ReferenceBuild.objects.filter(pk=build.pk).update(
        status="building", attempts=settings.SCORING_MAX_ATTEMPTS, status_changed_at=None
    )
    assert reference_builds_sweep(now=later).failed == [build.pk]
    build.refresh_from_db()
    assert build.status == "failed" and "internal error" in build.error


@pytest.mark.django_db
def test_the_board_api_names_the_trivial_baseline_once_built(arrival, tmp_path, organizer):
    task = imported_task(tmp_path, slug="board")
    (build,) = ReferenceBuild.objects.filter(task=task)
    assert reference_trivial_build(build_pk=build.pk) == "built"
    entries = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()["entries"]
    assert [e["reference"] for e in entries] == ["Trivial baseline"]
    manage = Client()
    manage.force_login(organizer)
    page = manage.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert '<tr data-reference="Trivial baseline">' in page and 'id="trivial-build"' not in page
