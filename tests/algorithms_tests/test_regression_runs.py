"""An algorithm on a regression task (real bubblewrap sandbox, no worker): a team's run
becomes a scored submission, and an organizer's run fills the transfer matrix, whose cell
is positive when the algorithm's RMSE is lower than the baseline's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.test import Client

from algorithms.models import AlgorithmRun
from algorithms.services.builtin import baseline_team_get_or_create
from algorithms.services.execute import algorithm_run_execute
from datasets.services import task_import
from leaderboard.transfer.matrix import transfer_matrix
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from testkit.bundles import write_regression_bundle
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.scoring_tests.factories import UserFactory, api_client_for, solution_frame

from .regression_runs_helpers import LINEAR_MAIN, linear_zip  # noqa: F401

pytestmark = pytest.mark.slow



@pytest.fixture
def regression(world, tmp_path):
    folder = write_regression_bundle(tmp_path / "reg", rows=200, task={"slug": "algo-reg"})
    return task_import(
        source=folder, challenge_slug=world.challenge.slug, track_slug="algo-numbers"
    )




def test_a_team_run_becomes_a_scored_regression_submission(world, broker, regression):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, linear_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[regression.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded"
    submission = AlgorithmRun.objects.get(pk=run["id"]).submission
    assert submission is not None
    assert submission.status == SubmissionStatus.SCORED  # in the run's worker
    assert set(submission.scores["public"]) == {"rmse", "mae", "r2"}
    assert submission.scores["all"]["r2"] > 0.8  # the label is linear in size and colour


def test_an_organizer_run_fills_the_transfer_matrix_in_the_metric_s_direction(
    world, broker, regression, tmp_path
):
    test = pd.read_parquet(regression.test_parquet.path)
    train = pd.read_parquet(regression.train_parquet.path)
    path = tmp_path / "mean.csv"  # the baseline predicts the train mean: a weak bar
    pd.DataFrame({"id": test["id"], "label": train["label"].mean()}).to_csv(path, index=False)
    baseline = submission_create_for_job(
        task=regression,
        team=baseline_team_get_or_create(challenge=world.challenge),
        predictions=path,
        note="baseline",
        name="baseline",
    )
    assert submission_score(submission_pk=baseline.pk) == SubmissionStatus.SCORED

    algorithm = post_archive(world.participant.api(), world.challenge, linear_zip()).json()
    organizer = api_client_for(UserFactory(is_staff=True))
    (run,) = queue(organizer, algorithm["id"], tasks=[regression.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded"

    matrix = transfer_matrix(track=regression.track)
    (row,) = matrix.rows
    (cell,) = row.cells
    truth = solution_frame(regression)
    public = truth[truth.split == "public"]
    base_rmse = float(np.sqrt(np.mean((public["label"] - train["label"].mean()) ** 2)))
    assert cell.baseline == pytest.approx(base_rmse)
    assert cell.score < cell.baseline
    assert cell.delta == pytest.approx(cell.baseline - cell.score)  # positive: better
    assert 0 < cell.delta_low <= cell.delta <= cell.delta_high
    stored = AlgorithmRun.objects.get(pk=run["id"]).scores
    r2 = min(max(stored["public"]["r2"], 0.0), 1.0)
    assert row.mean_score == pytest.approx(r2)  # a regression cell counts as its R²
    browser = Client()
    browser.force_login(UserFactory(is_staff=True))
    page = browser.get(f"/tracks/{regression.track.slug}/transfer/")
    assert page.status_code == 200 and 'class="cell better"' in page.content.decode()
