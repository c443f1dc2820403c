"""The algorithm services and API in-process (real sandbox and database; no worker).

Runs are executed by calling the service the worker calls, so the lifecycle rules
(once to completion, the sweeper, organizer runs, the transfer matrix) are checked
without waiting for a queue.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.builtin import baseline_team_get_or_create
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.runs import algorithm_runs_sweep
from leaderboard.transfer.matrix import transfer_matrix
from scoring.models import Submission, SubmissionStatus
from scoring.selectors import submission_daily_usage
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from testkit.archives import algorithm_zip, make_zip, manifest
from tests.scoring_tests.factories import UserFactory, api_client_for, upload

from .services_helpers import post_archive, queue

pytestmark = pytest.mark.slow






def test_upload_makes_versions_visible_to_the_team_and_organizers_only(world, broker):
    client = world.participant.api()
    first = post_archive(client, world.challenge, algorithm_zip()).json()
    second = post_archive(client, world.challenge, algorithm_zip()).json()
    assert first["version"] == 1
    assert second["id"] == first["id"] and second["version"] == 2
    assert [v["number"] for v in second["versions"]] == [2, 1]
    renamed = post_archive(client, world.challenge, algorithm_zip(), name="Other").json()
    assert renamed["id"] != first["id"] and renamed["version"] == 1

    assert {a["name"] for a in client.get("/api/v1/algorithms/").json()["results"]} == {
        "Honest",
        "Other",
    }
    rival = world.rival.api()
    assert rival.get("/api/v1/algorithms/").json()["results"] == []
    assert rival.get(f"/api/v1/algorithms/{first['id']}/").status_code == 404
    assert queue(rival, first["id"], tasks=[world.classification.slug]).status_code == 404
    organizer = api_client_for(UserFactory(is_staff=True))
    assert organizer.get(f"/api/v1/algorithms/{first['id']}/").status_code == 200
    version = AlgorithmVersion.objects.get(algorithm_id=first["id"], number=2)
    assert version.archive.storage.exists(version.archive.name)


def test_refused_archive_lists_every_problem_and_stores_nothing(world, broker, settings):
    data = make_zip(
        {"algorithm.yaml": "name: x\nentrypoint: gone.py\n", "bad.py": "def (:\n"},
        symlinks={"link": "/etc/passwd"},
    )
    stored = Path(settings.DATA_DIR) / "private" / "algorithms"
    before = sorted(stored.rglob("*")) if stored.exists() else []
    response = post_archive(world.participant.api(), world.challenge, data)
    assert response.status_code == 400
    detail = response.json()["detail"]
    for expected in ("a symbolic link", "'gone.py' is not in the archive"):
        assert expected in detail
    assert "bad.py" not in detail  # its code is only bytes here: a syntax error is the run's
    assert not AlgorithmVersion.objects.exists()
    assert (sorted(stored.rglob("*")) if stored.exists() else []) == before


def test_run_requests_are_checked(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    unknown = queue(client, algorithm["id"], tasks=["nope"])
    assert unknown.status_code == 400 and "'nope'" in unknown.json()["detail"]
    both = queue(client, algorithm["id"], tasks=[world.classification.slug], track="x")
    assert both.status_code == 400
    track = world.matching.track.slug
    runs = queue(client, algorithm["id"], track=track).json()["runs"]
    assert [r["task"] for r in runs] == [world.matching.slug]
    assert runs[0]["status"] == "queued"


def test_daily_limit_counts_queued_runs(world, broker):
    world.challenge.daily_submission_limit = 1
    world.challenge.save()
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    assert queue(client, algorithm["id"], tasks=[world.classification.slug]).status_code == 202
    refused = queue(client, algorithm["id"], tasks=[world.classification.slug])
    assert refused.status_code == 429
    assert "no submissions left today" in refused.json()["detail"]


def test_a_run_completes_once_and_submits_once(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"], delivery_id="delivery-1") == "succeeded"
    # A duplicate message, or a redelivery of the same one, finds the run final.
    assert algorithm_run_execute(run_pk=run["id"], delivery_id="delivery-2") == "skipped"
    assert algorithm_run_execute(run_pk=run["id"], delivery_id="delivery-1") == "skipped"
    stored = AlgorithmRun.objects.get(pk=run["id"])
    assert Submission.objects.filter(team=world.participant.team).count() == 1
    assert stored.submission.status == SubmissionStatus.SCORED  # in the run's worker
    assert stored.backend == "bubblewrap" and stored.peak_memory_mb > 0
    body = client.get(f"/api/v1/algorithm-runs/{run['id']}/").json()
    assert set(body) >= {
        "id",
        "algorithm",
        "version",
        "task",
        "status",
        "error",
        "log",
        "submission",
        "seconds",
        "peak_memory_mb",
    }
    assert body["submission"] == stored.submission_id
    assert (body["profile"], body["is_organizer_run"]) == ("team", False)


def test_sweeper_requeues_a_stale_run_then_fails_it_when_attempts_are_used(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    long_ago = timezone.now() - timedelta(days=1)
    AlgorithmRun.objects.filter(pk=run["id"]).update(
        status=AlgorithmRunStatus.RUNNING,
        claim_token="dead",
        attempts=1,
        status_changed_at=long_ago,
    )
    report = algorithm_runs_sweep()
    assert report.requeued == [run["id"]]
    assert AlgorithmRun.objects.get(pk=run["id"]).status == AlgorithmRunStatus.QUEUED
    AlgorithmRun.objects.filter(pk=run["id"]).update(
        status=AlgorithmRunStatus.RUNNING,
        claim_token="dead",
        attempts=2,
        status_changed_at=long_ago,
    )
    report = algorithm_runs_sweep()
    assert report.failed == [run["id"]]
    failed = AlgorithmRun.objects.get(pk=run["id"])
    assert failed.status == AlgorithmRunStatus.FAILED and "run it again" in failed.error


def test_cancel_a_queued_run(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    body = client.post(f"/api/v1/algorithm-runs/{run['id']}/cancel/").json()
    assert body["status"] == "cancelled"
    assert algorithm_run_execute(run_pk=run["id"]) == "skipped"
    assert client.post(f"/api/v1/algorithm-runs/{run['id']}/cancel/").status_code == 409


def test_a_link_in_the_output_is_not_followed(world, broker):
    """/output/predictions.csv as a symlink to a host path: refused, nothing read."""
    script = "import os\nos.symlink('/etc/passwd', '/output/predictions.csv')\n"
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip(script)).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "failed"
    stored = AlgorithmRun.objects.get(pk=run["id"])
    assert "not a regular file" in stored.error and stored.submission is None


def test_invalid_output_fails_with_the_readers_message(world, broker):
    script = "open('/output/predictions.parquet', 'wb').write(b'PAR1 not really parquet')\n"
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip(script)).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "failed"
    error = AlgorithmRun.objects.get(pk=run["id"]).error
    assert error.startswith("the predictions file is not a valid submission")


def _score_baseline(task) -> Submission:
    """The baseline team's majority-class predictions, scored like any submission."""
    import pandas as pd

    test = pd.read_parquet(task.test_parquet.path)
    train = pd.read_parquet(task.train_parquet.path)
    path = Path(task.test_parquet.path).parent / "baseline-predictions.csv"
    pd.DataFrame({"id": test["id"], "label": train["label"].mode()[0]}).to_csv(path, index=False)
    team = baseline_team_get_or_create(challenge=task.track.challenge)
    submission = submission_create_for_job(
        task=task, team=team, predictions=path, note="baseline", name="baseline"
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    return submission


def test_organizer_run_goes_to_the_transfer_matrix_not_the_board(world, broker):
    task = world.classification
    _score_baseline(task)
    team_client = world.participant.api()
    algorithm = post_archive(team_client, world.challenge, algorithm_zip()).json()
    organizer = UserFactory(is_staff=True)
    client = api_client_for(organizer)
    (run,) = queue(client, algorithm["id"], tasks=[task.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded"
    stored = AlgorithmRun.objects.get(pk=run["id"])
    assert stored.is_organizer_run and stored.submission is None
    body = client.get(f"/api/v1/algorithm-runs/{run['id']}/").json()
    assert (body["profile"], body["is_organizer_run"]) == ("organizer", True)
    assert set(stored.scores) == {"public", "private", "all"}
    assert submission_daily_usage(team=world.participant.team, task=task).used == 0
    assert not Submission.objects.filter(team=world.participant.team).exists()

    matrix = transfer_matrix(track=task.track)
    (row,) = matrix.rows
    (cell,) = [c for c in row.cells if c is not None]
    # The honest algorithm predicts the majority class, exactly like this baseline.
    assert cell.delta == pytest.approx(0.0) and cell.delta_low <= 0 <= cell.delta_high
    assert row.mean_delta == pytest.approx(0.0)

    # Participants see the public matrix, not the private one before the reveal.
    browser = Client()
    browser.force_login(world.participant.user)
    url = f"/tracks/{task.track.slug}/transfer/"
    assert browser.get(url).status_code == 200
    assert browser.get(url + "?split=private").status_code == 404
    staff = Client()
    staff.force_login(organizer)
    assert staff.get(url + "?split=private").status_code == 200


def test_pages_show_versions_runs_and_a_sanitized_description(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    queue(client, algorithm["id"], tasks=[world.classification.slug])
    browser = Client()
    browser.force_login(world.participant.user)
    listing = browser.get("/algorithms/").content.decode()
    assert "Honest" in listing and "Upload an algorithm" in listing
    detail = browser.get(f"/algorithms/{algorithm['id']}/").content.decode()
    assert "<em>simple</em>" in detail and "<script>alert" not in detail
    assert "Run on every task of" in detail and 'data-live-pending="1"' in detail
    assert 'data-run-id="' in detail
    other = Client()
    other.force_login(world.rival.user)
    assert other.get(f"/algorithms/{algorithm['id']}/").status_code == 404
    bad = other.post(
        "/algorithms/upload/",
        {
            "challenge": world.challenge.slug,
            "file": upload(make_zip({"algorithm.yaml": manifest(), "x.py": ""}), "a.zip"),
        },
    )
    assert bad.status_code == 400 and "is not in the archive" in bad.content.decode()


def test_a_participant_who_has_not_accepted_the_rules_is_sent_to_them(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    world.challenge.rules = "Be nice."
    world.challenge.save()
    for response in (
        post_archive(client, world.challenge, algorithm_zip()),
        queue(client, algorithm["id"], tasks=[world.classification.slug]),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "rules_not_accepted"
    assert not AlgorithmRun.objects.exists()
