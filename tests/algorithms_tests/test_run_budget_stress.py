"""A challenge's run budget and its stress runs (docs/decisions/0074): the baseline's stress run
fits on the clean run's train sample, and the budget's ``stress_rows`` caps every stress test
set of the challenge, each family keeping its share of the copies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.baseline import baseline_run_queue
from algorithms.services.builtin import baseline_algorithm_version, baseline_environment
from algorithms.services.stress import stress_stage
from algorithms.services.stress_queue import stress_queue
from datasets.services import task_import
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from tests.algorithms_tests.stress_data import write_products_bundle
from tests.scoring_tests.factories import ChallengeFactory

pytestmark = pytest.mark.slow

PLAN = [
    {"family": "typos", "strength": 0.5, "share": 0.4},
    {"family": "transliteration", "share": 0.4},
]


def _clean_baseline(task, options: dict) -> AlgorithmRun:
    """The baseline's succeeded clean run on ``task`` (its predictions scored)."""
    version = baseline_algorithm_version(challenge=task.track.challenge)
    test = pq.read_table(task.test_parquet.path).to_pandas()
    path = Path(task.test_parquet.path).parent / "baseline.csv"
    test.assign(label=0)[["id", "label"]].to_csv(path, index=False)
    submission = submission_create_for_job(
        task=task, team=version.algorithm.team, predictions=path, note="baseline", name="b"
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    return AlgorithmRun.objects.create(
        version=version,
        task=task,
        profile="baseline",
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=submission,
        options=options,
        limits={"wall_seconds": 300, "memory_mb": 4096},
        manifest={"task_data_version": task.data_version},
        seed=7,
    )


@pytest.mark.parametrize("budget", [{}, {"train_rows": 150, "stress_rows": 100}])
def test_the_stress_run_fits_on_the_clean_sample_and_meets_the_budgets_copies(
    budget, tmp_path: Path, small_limits, transactional_db, broker
) -> None:
    challenge = ChallengeFactory(run_budget=budget)
    task = task_import(
        source=write_products_bundle(tmp_path / "bundle", stress=PLAN),  # 240 test rows
        challenge_slug=challenge.slug,
        track_slug="products",
    )
    queued = baseline_run_queue(task=task)  # the options a baseline of this challenge gets
    AlgorithmRun.objects.filter(pk=queued.pk).update(status=AlgorithmRunStatus.CANCELLED)
    clean = _clean_baseline(task, queued.options)

    (stress,) = stress_queue()
    assert stress.stress_of_id == clean.pk
    sample = baseline_environment(run=stress)["BASELINE_MAX_TRAIN_ROWS"]
    assert sample == baseline_environment(run=clean)["BASELINE_MAX_TRAIN_ROWS"]
    assert stress.options.get("max_train_rows") == budget.get("train_rows")
    assert stress.options.get("max_rows") == budget.get("stress_rows")

    staged = stress_stage(run=stress, folder=tmp_path / "task")
    stress_set = staged.context
    per_family = Counter(stress_set.families[i] for i in stress_set.family.tolist())
    if budget:
        # 0.4 of 240 rows per family, scaled to 100 rows: 40 copies each.
        assert staged.test_rows == stress_set.solution.num_rows == 80
        assert per_family == {"typos": 40, "transliteration": 40}
    else:
        assert staged.test_rows == stress_set.solution.num_rows == 192
        assert per_family == {"typos": 96, "transliteration": 96}
