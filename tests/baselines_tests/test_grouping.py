"""The AutoGluon baseline on a grouping task (issue 13): blocking, pair features, a binary
model, connected components; run for real in the bubblewrap sandbox, then scored."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algorithms.builtin.autogluon.kinds import grouping
from algorithms.models import AlgorithmRunStatus
from algorithms.services.baseline import baseline_run_queue
from algorithms.services.execute import algorithm_run_execute as baseline_run_execute
from datasets.services import task_import
from scoring.models import SubmissionStatus
from scoring.selectors import submission_algorithm
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from testkit.bundles import write_classification_bundle
from tests.datasets_tests.core_grouping_helpers import GROUPING

from .grouping_helpers import WORDS, _records  # noqa: F401


def grouping_task(tmp_path: Path):
    rng = np.random.default_rng(7)
    train = _records("a", 60, rng)
    solution_full = _records("b", 30, rng)
    test = solution_full.drop(columns="label")
    solution = solution_full[["id", "label"]]
    bundle = write_classification_bundle(
        tmp_path / "bundle", task=GROUPING, train=train, test=test, solution=solution
    )
    return task_import(source=bundle, challenge_slug="g", track_slug="groups"), solution


def test_components_and_blocking() -> None:
    roots = grouping.components(5, np.array([[0, 2], [2, 4]]))
    assert list(roots) == [0, 1, 0, 3, 0]
    frame = pd.DataFrame(
        {"name": ["Acme Phone", "acme phone!", "Globex", None], "price": [1.0, 2.0, 1.0, 9.0]}
    )
    pairs = grouping.candidate_pairs(frame, {"name": "text", "price": "numeric"})
    assert pairs.tolist() == [[0, 1], [0, 2]]  # a shared token; a shared price


@pytest.mark.slow
def test_the_grouping_baseline_clusters_the_test_and_is_scored(
    tmp_path, baseline_broker, transactional_db
):
    task, solution = grouping_task(tmp_path)
    run = baseline_run_queue(task=task, time_limit=300)  # a safety limit: the work is fixed
    assert baseline_run_execute(run_pk=run.pk, delivery_id="d1") == AlgorithmRunStatus.SUCCEEDED
    run.refresh_from_db()
    assert run.result["kind"] == "grouping" and run.result["train_positive_pairs"] > 0
    assert run.result["clusters"] < task.test_rows  # some records were put together
    submission = run.submission
    with submission.file.open("rb") as handle:
        clusters = pd.read_parquet(io.BytesIO(handle.read()))
    assert list(clusters.columns) == ["id", "cluster"]
    assert sorted(clusters["id"]) == sorted(solution["id"])
    # The submission names the built-in algorithm version that made it, and (the baseline is
    # an algorithm run now) the run, like any algorithm's submission.
    made_by = submission_algorithm(submission=submission)
    assert made_by == {
        "id": run.version.algorithm_id,
        "name": "AutoGluon baseline",
        "version": 1,
        "run": run.pk,
    }

    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED, submission.error
    f1 = submission.scores["all"]["pairwise_f1"]
    print(f"grouping baseline pairwise F1 {f1:.3f}")
    assert f1 > 0.5  # all singletons score 0; titles with one typo are easy
