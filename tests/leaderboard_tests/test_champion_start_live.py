"""The champion's start on the real flow (issue 50, point 1): ``manage.py import_task`` queues
the AutoGluon and the trivial baselines on arrival; a real worker of the scoring queue builds
the trivial one long before AutoGluon runs; the beat's minute and the API then find no
champion (never the trivial baseline: the AutoGluon baseline is on its way, and they say
so); a team's upload scored meanwhile waits. A baselines worker then runs the real AutoGluon
baseline (bubblewrap sandbox); once its submission is scored it is the first champion, and
the waiting entry is weighed against it, with no one acting."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from algorithms.models import AlgorithmRunStatus, BaselineRun
from datasets.models import Task
from leaderboard.champion.beat import champion_tick
from leaderboard.models import ChampionBy, ChampionChange, ChampionCheck, ChampionCheckStatus
from scoring.models import Reference, ReferenceSource, Submission, SubmissionStatus
from testkit.bundles import write_classification_bundle
from tests.scoring_tests.factories import (
    api_client_for,
    csv_bytes,
    make_participant,
    predictions_frame,
    upload,
)
from tests.support.celery_worker import REPO, WorkerProcess, manage_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


def done_check(**lookup) -> ChampionCheck | None:
    return (
        ChampionCheck.objects.filter(decides=True, status=ChampionCheckStatus.DONE, **lookup)
        .order_by("-pk")
        .first()
    )


def test_an_imported_task_starts_from_its_autogluon_baseline_scored_after_the_trivial_one(
    tmp_path, redis_server, redis_client, transactional_db
):
    redis_client.flushall()
    bundle = write_classification_bundle(tmp_path / "b", rows=80, task={"slug": "arriving"})
    env = {**manage_env(), "BENCHMARK_ON_ARRIVAL": "1", "REDIS_URL": redis_server.url}
    imported = subprocess.run(
        [sys.executable, "manage.py", "import_task", str(bundle), "--challenge", "start-live",
         "--track", "kway"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    task = Task.objects.select_related("track__challenge").get(slug="arriving")
    run = BaselineRun.objects.get(task=task)
    assert run.status == AlgorithmRunStatus.QUEUED

    scoring = WorkerProcess(
        redis_url=redis_server.url, log_path=tmp_path / "scoring.log", queues="scoring"
    ).start()
    baselines = None
    try:
        scoring.wait_ready()
        wait_for(
            lambda: Reference.objects.filter(
                task=task, source=ReferenceSource.TRIVIAL, predictions__gt=""
            ).exists(),
            timeout=120,
            what="the trivial baseline built by the worker",
            worker=scoring,
        )
        # The beat's minute, and the API's first use: no champion, and why.
        champion_tick()
        document = APIClient().get(f"/api/v1/tasks/{task.slug}/champion/").json()
        assert document["entry"] is None and document["history"] == []
        assert document["waiting_for"] == f"the AutoGluon baseline (run #{run.pk}, queued)"

        ann = make_participant(task.track.challenge, username="ann", name="Ann")
        created = api_client_for(ann.user).post(
            f"/api/v1/tasks/{task.slug}/submissions/",
            {"file": upload(csv_bytes(predictions_frame(task, wrong=0.05, scores=False)))},
            format="multipart",
        )
        assert created.status_code == 201, created.content
        ann_pk = created.json()["id"]
        waited = wait_for(
            lambda: done_check(submission_id=ann_pk),
            timeout=120,
            what="Ann's deciding check",
            worker=scoring,
        )
        assert waited.outcome == "waiting" and "AutoGluon baseline (run #" in waited.error
        champion_tick()
        assert not ChampionChange.objects.filter(task=task).exists()

        baselines = WorkerProcess(
            redis_url=redis_server.url,
            log_path=tmp_path / "baselines.log",
            queues="baselines",
            concurrency=1,
            name="baselines",
        ).start()
        baselines.wait_ready()
        run = wait_for(
            lambda: (
                BaselineRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"])
                .select_related("submission")
                .first()
            ),
            timeout=600,
            what="the AutoGluon baseline run",
            worker=baselines,
        )
        assert run.status == AlgorithmRunStatus.SUCCEEDED, (run.error, baselines.log_tail(60))
        autogluon = run.submission
        started = wait_for(
            lambda: done_check(submission_id=autogluon.pk),
            timeout=180,
            what="the AutoGluon submission's deciding check",
            worker=scoring,
        )
        assert started.outcome == "champion"
        # The waiting entry is weighed against the start (queued when the start was set).
        weighed = wait_for(
            lambda: (
                ChampionCheck.objects.filter(
                    submission_id=ann_pk, decides=True, status=ChampionCheckStatus.DONE
                )
                .exclude(outcome__in=["waiting", "waited"])
                .first()
            ),
            timeout=180,
            what="Ann's entry weighed against the start",
            worker=scoring,
        )
    finally:
        for worker in (baselines, scoring):
            if worker is not None:
                worker.stop()

    assert Submission.objects.get(pk=autogluon.pk).status == SubmissionStatus.SCORED
    first = ChampionChange.objects.filter(task=task).order_by("at", "pk").first()
    assert (first.by, first.submission_id) == (ChampionBy.INITIAL, autogluon.pk)
    assert weighed.against_id == first.pk and weighed.outcome in {"crowned", "kept", "cannot_tell"}
    assert weighed.result["champion"]["id"] == autogluon.pk
    assert not ChampionChange.objects.filter(
        task=task, reference__source=ReferenceSource.TRIVIAL
    ).exists()
    document = APIClient().get(f"/api/v1/tasks/{task.slug}/champion/").json()
    assert document["history"][0]["entry"]["id"] == autogluon.pk
    assert document["waiting_for"] is None
