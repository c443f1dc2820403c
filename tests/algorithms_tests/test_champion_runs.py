"""An organizer's algorithm run (real bubblewrap sandbox, no worker) is an entry the champion
gate weighs: scored on itself, never a submission, it queues its deciding check in the
transaction that ends it; on a regression task the check flips rows by the task's
tolerance and decides by the RMSE's bootstrap, as computed here by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from algorithms.models import AlgorithmRun
from algorithms.services.builtin import baseline_team_get_or_create
from algorithms.services.execute import algorithm_run_execute
from datasets.services import task_import
from leaderboard.champion.services import champion_check_run, champion_ensure
from leaderboard.models import ChampionCheck, ChampionCheckStatus
from scoring.core import load_predictions
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from testkit.bundles import write_regression_bundle
from tests.algorithms_tests.regression_runs_helpers import linear_zip
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.scoring_tests.factories import UserFactory, api_client_for, solution_frame

pytestmark = pytest.mark.slow


def test_an_organizer_run_on_a_regression_task_is_weighed_with_the_tolerance(
    world, broker, tmp_path
):
    folder = write_regression_bundle(tmp_path / "reg", rows=1200, task={"slug": "gate-reg"})
    task = task_import(source=folder, challenge_slug=world.challenge.slug, track_slug="gate-num")
    test = pd.read_parquet(task.test_parquet.path)
    train = pd.read_parquet(task.train_parquet.path)
    mean = tmp_path / "mean.csv"  # the baseline: the train mean everywhere
    pd.DataFrame({"id": test["id"], "label": train["label"].mean()}).to_csv(mean, index=False)
    baseline = submission_create_for_job(
        task=task,
        team=baseline_team_get_or_create(challenge=world.challenge),
        predictions=mean,
        note="baseline",
        name="baseline",
    )
    assert submission_score(submission_pk=baseline.pk) == SubmissionStatus.SCORED
    start = champion_ensure(task=task)
    assert start.submission_id == baseline.pk  # the AutoGluon reference's submission

    algorithm = post_archive(world.participant.api(), world.challenge, linear_zip()).json()
    organizer = api_client_for(UserFactory(is_staff=True))
    (queued,) = queue(organizer, algorithm["id"], tasks=[task.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=queued["id"]) == "succeeded"
    run = AlgorithmRun.objects.get(pk=queued["id"])
    assert run.submission_id is None and run.scores  # scored on itself
    check = ChampionCheck.objects.get(run=run, decides=True)
    outcome = champion_check_run(check_pk=check.pk)
    check.refresh_from_db()
    assert check.status == ChampionCheckStatus.DONE, check.error

    truth = solution_frame(task)
    public = (truth["split"] == "public").to_numpy()
    y = truth["label"].to_numpy(dtype=float)[public]
    with run.predictions.open("rb") as handle:
        new = np.asarray(load_predictions(handle.read()).pred, dtype=float)[public]
    old = np.full_like(y, train["label"].mean())
    tolerance = task.meta["tolerance"]
    growth = np.abs(new - y) - np.abs(old - y)
    fixes, breaks, n = int((growth < -tolerance).sum()), int((growth > tolerance).sum()), len(y)
    document = check.result
    assert document["mcnemar"] == {"fixes": fixes, "breaks": breaks, "p": None}
    assert document["nfr"] == pytest.approx(breaks / n)
    high = 1.0 if breaks == n else stats.beta.ppf(0.975, breaks + 1, n - breaks)
    assert document["nfr_ci"][1] == pytest.approx(high)
    rmse = lambda e: math.sqrt(float(np.mean(e**2)))  # noqa: E731
    assert document["difference"] == pytest.approx(rmse(old - y) - rmse(new - y), rel=1e-9)
    draws = []
    for child in np.random.SeedSequence(0).spawn(1000):
        i = np.random.Generator(np.random.PCG64(child)).integers(0, n, size=n)
        draws.append(rmse(old[i] - y[i]) - rmse(new[i] - y[i]))
    draws = np.sort(draws)
    assert document["ci"] == pytest.approx([draws[24], draws[975]], rel=1e-9)
    passes = bool(draws[24] > 0 and high <= 0.02)
    assert document["passes"] is passes
    assert outcome == ("crowned" if passes else "kept")
    assert check.result["champion"]["id"] == baseline.pk
