"""A run's status is the truth (issue 24), in-process through the real sandbox and database.

The manual's example (then the README's) once ran on a track with a grouping task, made a submission
that failed at scoring ("'cluster' is missing"), and the run, its page, the API and the transfer
matrix said "succeeded" / "not run". Now the run's output check does scoring's validation,
so such a run fails before it submits, with scoring's words; and a run whose submission
fails at scoring for any other reason follows it to ``failed``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.test import Client

from algorithms.failures import CATEGORIES
from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.execute import algorithm_run_execute
from datasets.services import task_import
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.sweep import submission_rescore
from scoring.solutions import solution_cache
from testkit.archives import HONEST_MAIN, algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.datasets_tests.core_grouping_helpers import grouping_bundle
from tests.scoring_tests.factories import UserFactory, api_client_for

pytestmark = pytest.mark.slow

# Every test id but the first: scoring would refuse it ("1 test id is missing").
MISSING_ONE_ID = """
import os
import pandas as pd
test = pd.read_parquet(os.environ["TASK_DIR"] + "/test.parquet")
train = pd.read_parquet(os.environ["TASK_DIR"] + "/train.parquet")
label = train["label"].mode()[0]
pd.DataFrame({"id": test["id"][1:], "label": label}).to_csv("/output/predictions.csv", index=False)
"""


@pytest.fixture
def grouping(world, tmp_path: Path):
    return task_import(
        source=grouping_bundle(tmp_path / "grouping", task={"slug": "algo-group"}),
        challenge_slug=world.challenge.slug,
        track_slug=f"grouping-{world.challenge.slug}",
    )


def run_once(client, algorithm_id: int, task) -> AlgorithmRun:
    (run,) = queue(client, algorithm_id, tasks=[task.slug]).json()["runs"]
    algorithm_run_execute(run_pk=run["id"])
    return AlgorithmRun.objects.get(pk=run["id"])


def transfer_cell(track, algorithm_id: int, task_slug: str) -> dict:
    body = Client().get(f"/api/v1/tracks/{track.slug}/transfer/").json()
    (cell,) = [
        c for c in body["cells"] if c["algorithm"] == algorithm_id and c["task"] == task_slug
    ]
    return cell


def test_an_id_label_file_on_a_grouping_task_fails_the_run_before_it_submits(
    world, broker, grouping
):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip(HONEST_MAIN)).json()
    run = run_once(client, algorithm["id"], grouping)
    assert run.status == AlgorithmRunStatus.FAILED, run.error
    assert run.error.startswith("the predictions file is not a valid submission: ")
    assert "'cluster'" in run.error and "is missing" in run.error
    assert run.submission is None
    assert not Submission.objects.filter(team=world.participant.team).exists()

    body = client.get(f"/api/v1/algorithm-runs/{run.pk}/").json()
    assert (body["status"], body["submission"], body["submission_status"]) == (
        "failed",
        None,
        None,
    )
    assert "'cluster'" in body["error"]
    # The public transfer matrix says "failed" with its category, not "not run", and never
    # the run's own words (issue 51: those are the team's, on the run's page above).
    cell = transfer_cell(grouping.track, algorithm["id"], grouping.slug)
    assert cell["status"] == "failed" and cell["failure"] == cell["error"] == "invalid output"
    assert cell["score"] is None and cell["delta"] is None
    page = Client().get(f"/tracks/{grouping.track.slug}/transfer/").content.decode()
    # (The task's own column head may say its AutoGluon baseline has not run: no cell does.)
    assert 'data-role="failed"' in page and 'class="muted">not run</span>' not in page
    assert '<td class="cell " data-task="0" data-status="failed">' in page
    assert "invalid output" in page and "is missing" not in page  # a category, not its words


def test_ids_that_do_not_match_the_test_set_fail_the_run_in_scorings_words(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip(MISSING_ONE_ID)).json()
    run = run_once(client, algorithm["id"], world.classification)
    assert run.status == AlgorithmRunStatus.FAILED
    assert "The ids do not match the test set" in run.error
    assert "1 test id is missing" in run.error
    assert run.submission is None and not Submission.objects.exists()


def test_a_submission_failing_at_scoring_fails_its_run_and_a_rescore_brings_it_back(
    world, broker, settings
):
    settings.SCORING_MAX_ATTEMPTS = 1
    task = world.classification
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    run = run_once(client, algorithm["id"], task)
    assert run.status == AlgorithmRunStatus.SUCCEEDED
    body = client.get(f"/api/v1/algorithm-runs/{run.pk}/").json()
    # Scored in the run's worker, in the transaction that succeeded the run.
    assert (body["status"], body["submission_status"]) == ("succeeded", "scored")

    # The solution goes missing (an internal error, not the team's fault) and the only
    # attempt of a rescore fails: the run no longer says "succeeded".
    solution = Path(task.solution.path)
    kept = solution.with_suffix(".kept")
    shutil.move(solution, kept)
    solution_cache.items.clear()
    organizer = UserFactory(is_staff=True)
    submission_rescore(submission=run.submission, actor=organizer, reason="check")
    assert submission_score(submission_pk=run.submission_id) == SubmissionStatus.FAILED
    run.refresh_from_db()
    submission = run.submission
    assert run.status == AlgorithmRunStatus.FAILED
    assert run.error == f"Its submission #{submission.pk} failed at scoring: {submission.error}"
    assert "internal error" in run.error
    body = client.get(f"/api/v1/algorithm-runs/{run.pk}/").json()
    assert (body["status"], body["submission_status"]) == ("failed", "failed")
    assert body["error"] == run.error
    cell = transfer_cell(task.track, algorithm["id"], task.slug)
    assert cell["status"] == "failed" and cell["failure"] in CATEGORIES
    assert "internal error" not in cell["error"]  # the run's words stay on its own page

    # Fixed and rescored by an organizer: scored, and the run follows it back.
    shutil.move(kept, solution)
    solution_cache.items.clear()
    submission_rescore(submission=submission, actor=organizer, reason="solution restored")
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    run.refresh_from_db()
    assert (run.status, run.error) == (AlgorithmRunStatus.SUCCEEDED, "")
    cell = transfer_cell(task.track, algorithm["id"], task.slug)
    assert cell["status"] == "succeeded" and cell["score"] is not None


def test_a_run_without_a_submission_is_never_touched_by_scoring(world, broker):
    """An organizer's run is scored on the run; no submission event reaches it."""
    task = world.classification
    algorithm = post_archive(world.participant.api(), world.challenge, algorithm_zip()).json()
    organizer = UserFactory(is_staff=True)
    run = run_once(api_client_for(organizer), algorithm["id"], task)
    assert run.status == AlgorithmRunStatus.SUCCEEDED and run.submission_id is None
    cell = transfer_cell(task.track, algorithm["id"], task.slug)
    assert cell["status"] == "succeeded" and cell["is_organizer_run"] is True
    assert cell["score"] == pytest.approx(run.scores["public"]["accuracy"])
