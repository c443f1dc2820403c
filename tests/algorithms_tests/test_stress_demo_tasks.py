"""The AutoGluon baseline's stress runs on the demo's own matching and grouping tasks (issue 50).

Before, every such run failed with ``baseline failed: invalid task folder: train.parquet lacks
columns ['left_extra', 'right_extra']`` (``['extra']`` on febrl-groups): the copies'
``task.json`` listed the columns ``noise_columns`` appends among the task's, and the runner
reads the task's columns from train too. Now ``columns`` stays the task's (each one in train
and test alike) and the appended ones are listed apart (``added_columns``), so the run
succeeds: the demo's real tasks, built by load_demo's own builders, the real baseline in the
real sandbox, run here, and the board's robustness column reads "ready" with figures for every
family of the default plan, ``noise_columns`` included.

The stress run loads the model its clean run packed instead of fitting it again (issue 68,
``algorithms/services/kept_models.py``): the grouping kind's path included."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from algorithms.models import AlgorithmRunStatus
from algorithms.services.baseline import baseline_run_queue
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.kept_models import kept_model_path
from algorithms.services.stress import stress_stage
from algorithms.services.stress_queue import stress_queue, task_stress_plan
from datasets.demo import build_dblp_acm, build_febrl_groups
from datasets.services import task_import
from leaderboard.boards.read import task_board
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from testkit.demo_data import DEMO_CACHE

pytestmark = pytest.mark.slow

DEMO_TASKS = {
    "dblp-acm": (build_dblp_acm, ["left_extra", "right_extra"]),
    "febrl-groups": (build_febrl_groups, ["extra"]),
}


@pytest.mark.parametrize("slug", sorted(DEMO_TASKS))
def test_the_baseline_s_stress_run_on_a_demo_task_keeps_the_task_s_columns_and_succeeds(
    slug, tmp_path: Path, broker, transactional_db
):
    builder, appended = DEMO_TASKS[slug]
    bundle = builder(out_dir=tmp_path / "bundle" / slug, seed=0, cache_dir=DEMO_CACHE)
    task = task_import(source=bundle, challenge_slug="demo", track_slug="matching")
    # The default plan: every family that applies, noise_columns among them.
    assert "noise_columns" in {p.family for p in task_stress_plan(task=task)}

    clean = baseline_run_queue(task=task, time_limit=900)
    assert algorithm_run_execute(run_pk=clean.pk, delivery_id="clean") == "succeeded"
    clean.refresh_from_db()
    assert submission_score(submission_pk=clean.submission_id) == SubmissionStatus.SCORED
    kept = kept_model_path(run_pk=clean.pk)
    assert kept.is_file() and clean.result["model_packed_bytes"] == kept.stat().st_size

    (stress,) = stress_queue()  # what the beat's stress tick does
    assert stress.profile == "baseline_stress" and stress.stress_of_id == clean.pk

    # The /task it meets: every column task.json names is in train and in test; the columns
    # the copies gained are named apart, and train has none of them.
    folder = stress_stage(run=stress, folder=tmp_path / "staged").folder
    meta = json.loads((folder / "task.json").read_text())
    train = set(pq.read_schema(folder / "train.parquet").names)
    test = set(pq.read_schema(folder / "test.parquet").names)
    declared = [c["name"] for c in meta["columns"]]
    assert declared == [c["name"] for c in task.columns]
    assert set(declared) <= train and set(declared) <= test
    assert [c["name"] for c in meta["added_columns"]] == appended
    assert set(appended) <= test and not set(appended) & train

    status = algorithm_run_execute(run_pk=stress.pk, delivery_id="stress")
    stress.refresh_from_db()
    assert status == AlgorithmRunStatus.SUCCEEDED, stress.error
    assert "loaded the clean run's model" in stress.log_tail, stress.log_tail[-2000:]
    assert "Fitting model" not in stress.log_tail and not kept.exists()
    figures = stress.robustness["splits"]["all"]
    assert "noise_columns" in figures["families"], stress.robustness["skipped"]
    assert figures["families"]["noise_columns"]["ratio"] is not None

    (entry,) = [row for row in task_board(task=task, split="public").rows if row.team_id]
    assert entry.robustness_state == "ready" and entry.robustness is not None
    assert entry.robustness["run"] == stress.pk
