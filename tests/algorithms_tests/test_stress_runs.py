"""Stress runs through the real pipeline and sandbox, run in this process
(docs/organizers/stress.md): queued once per version and plan, staged with copies only (fresh ids of
the clean shape, no original), scored against the copies' truth and compared with the clean run; the
clean scores never change; runs, boards and the console show the figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.test import Client

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.builtin import baseline_algorithm_version
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.profiles import STRESS, profile_of
from algorithms.services.runs import run_create
from algorithms.services.stress import stress_stage
from algorithms.services.stress_queue import stress_queue
from datasets.services import task_import
from datasets.stress import task_stress_set
from kinds.stress import StressRefused
from leaderboard.boards.read import task_board
from scoring.core import score_file
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from scoring.solutions import solution_for_task
from testkit.archives import algorithm_zip
from tests.algorithms_tests.stress_data import BRITTLE_MAIN, ROBUST_MAIN, write_products_bundle
from tests.scoring_tests.factories import (
    ChallengeFactory,
    UserFactory,
    api_client_for,
    make_participant,
    upload,
)

pytestmark = pytest.mark.slow

PLAN = [
    {"family": "typos", "strength": 0.5, "share": 0.4},
    {"family": "transliteration", "share": 0.4},
]


@pytest.fixture
def products(tmp_path: Path, small_limits, transactional_db):
    challenge = ChallengeFactory(daily_submission_limit=20, private_revealed=False)
    task = task_import(
        source=write_products_bundle(tmp_path / "bundle", stress=PLAN),
        challenge_slug=challenge.slug,
        track_slug="products",
    )
    return challenge, task


def _upload(participant, challenge, main: str, name: str) -> dict:
    response = participant.api().post(
        f"/api/v1/challenges/{challenge.slug}/algorithms/",
        {"file": upload(algorithm_zip(main, name=name), "algo.zip")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _team_run(participant, algorithm: dict, task) -> AlgorithmRun:
    """A team's run, executed here; its submission is scored in the run's worker."""
    response = participant.api().post(
        f"/api/v1/algorithms/{algorithm['id']}/runs/", {"tasks": [task.slug]}, format="json"
    )
    (queued,) = response.json()["runs"]
    assert algorithm_run_execute(run_pk=queued["id"]) == "succeeded"
    run = AlgorithmRun.objects.select_related("submission").get(pk=queued["id"])
    assert run.submission.status == SubmissionStatus.SCORED
    return run


def _board_scores(task) -> dict[str, str]:
    """Every entry's score and metrics, exactly (floats as hex)."""
    return {
        row.team.name: json.dumps([float(row.score).hex(), row.metrics], sort_keys=True)
        for row in task_board(task=task, split="public").rows
        if row.rank is not None
    }


def test_a_stress_run_meets_copies_only_and_the_robust_method_outlasts_the_brittle_one(
    products, broker, tmp_path
):
    challenge, task = products
    ada = make_participant(challenge, username="ada")
    bob = make_participant(challenge, username="bob")
    robust = _team_run(ada, _upload(ada, challenge, ROBUST_MAIN, "Robust"), task)
    brittle = _team_run(bob, _upload(bob, challenge, BRITTLE_MAIN, "Brittle"), task)
    before = _board_scores(task)
    clean_scores = {
        run.pk: json.dumps(run.submission.scores, sort_keys=True) for run in (robust, brittle)
    }

    queued = stress_queue()
    assert sorted(r.stress_of_id for r in queued) == sorted([robust.pk, brittle.pk])
    assert {r.profile for r in queued} == {"stress"}
    assert stress_queue() == []  # once per version, data version and plan
    for run in queued:
        assert run.seed == run.stress_of.seed and run.limits == run.stress_of.limits

    # The staged /task: copies only, fresh ids of the clean shape, never larger.
    stress = queued[0]
    staged = stress_stage(run=stress, folder=tmp_path / "staged")
    test = pq.read_table(staged.folder / "test.parquet")
    clean_ids = set(pq.read_table(task.test_parquet.path, columns=["id"])["id"].to_pylist())
    ids = test["id"].to_pylist()
    assert not set(ids) & clean_ids and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"p\d{5}", i) for i in ids)
    assert 0 < test.num_rows <= task.test_rows
    assert json.loads((staged.folder / "task.json").read_text())["test_rows"] == test.num_rows
    assert sorted(p.name for p in staged.folder.iterdir()) == [
        "task.json",
        "test.parquet",
        "train.parquet",
    ]
    again = stress_stage(run=stress, folder=tmp_path / "again")  # the same copies for every method
    assert pq.read_table(again.folder / "test.parquet").equals(test)

    for run in queued:
        assert algorithm_run_execute(run_pk=run.pk) == "succeeded", (
            run.refresh_from_db() or run.error
        )
    figures = {
        run.stress_of_id: AlgorithmRun.objects.get(pk=run.pk).robustness["splits"]["all"]
        for run in queued
    }
    strong, weak = figures[robust.pk], figures[brittle.pk]
    for family in ("typos", "transliteration"):
        assert strong["families"][family]["ratio"] > weak["families"][family]["ratio"]
        assert strong["families"][family]["clean"] == weak["families"][family]["clean"] == 1.0
        assert weak["families"][family]["flip_rate"] > 0.2
    assert weak["worst_family"] in ("typos", "transliteration")

    # Clean scores, to the bit: the submissions' and every board entry's.
    assert _board_scores(task) == before
    for run in (robust, brittle):
        run.submission.refresh_from_db()
        assert json.dumps(run.submission.scores, sort_keys=True) == clean_scores[run.pk]


def test_runs_and_boards_show_robustness_and_a_prediction_file_needs_an_algorithm(products, broker):
    challenge, task = products
    ada = make_participant(challenge, username="ada")
    clean = _team_run(ada, _upload(ada, challenge, ROBUST_MAIN, "Robust"), task)
    (stress,) = stress_queue()
    assert algorithm_run_execute(run_pk=stress.pk) == "succeeded"

    # A prediction file: the copies never meet it.
    carol = make_participant(challenge, username="carol")
    test = pq.read_table(task.test_parquet.path).to_pandas()
    path = Path(task.test_parquet.path).parent / "carol.csv"
    test.assign(label=0)[["id", "label"]].to_csv(path, index=False)
    response = carol.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(path.read_bytes(), "carol.csv")},
        format="multipart",
    )
    assert submission_score(submission_pk=response.json()["id"]) == SubmissionStatus.SCORED

    body = ada.api().get(f"/api/v1/algorithm-runs/{clean.pk}/").json()
    robustness = body["robustness"]
    assert robustness["run"] == stress.pk and robustness["split"] == "public"
    assert set(robustness["families"]) == {"typos", "transliteration"}
    assert set(robustness["families"]["typos"]) >= {"score", "ratio", "flip_rate"}
    assert robustness["worst_family"] in robustness["families"]
    organizer = api_client_for(UserFactory(is_staff=True))
    assert (
        organizer.get(f"/api/v1/algorithm-runs/{clean.pk}/").json()["robustness"]["split"] == "all"
    )

    board = ada.api().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    entries = {e["team"]: e for e in board["entries"]}
    assert entries[ada.team.name]["robustness"]["mean_ratio"] == robustness["mean_ratio"]
    assert entries[ada.team.name]["robustness_state"] == "ready"
    assert entries[carol.team.name]["robustness"] is None
    assert entries[carol.team.name]["robustness_state"] == "needs_algorithm"
    # Matching consistency is a column of every entry, prediction files included; here no
    # entry has a match between two different records (carol predicts none, and every
    # match ada finds pairs a record with an identical one), so there is nothing to judge.
    assert entries[carol.team.name]["transitivity_violations"] is None
    assert entries[ada.team.name]["transitivity_violations"] is None
    assert (
        'data-column="transitivity"'
        in Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    )

    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    assert 'data-column="robustness"' in page and "needs an algorithm" in page
    assert f"worst: {robustness['worst_family']}" in page

    browser = Client()
    browser.force_login(ada.user)
    detail = browser.get(f"/algorithms/{clean.version.algorithm_id}/").content.decode()
    assert 'data-role="robustness"' in detail and 'data-family="transliteration"' in detail

    # The transfer matrix's robustness view: a stress run is never a cell of its own.
    transfer = ada.api().get(f"/api/v1/tracks/{task.track.slug}/transfer/").json()
    (cell,) = [c for c in transfer["cells"] if c["algorithm"] == clean.version.algorithm_id]
    assert cell["run"] == clean.pk and cell["robustness"]["run"] == stress.pk
    assert cell["robustness"]["mean_ratio"] == robustness["mean_ratio"]
    page = browser.get(f"/tracks/{task.track.slug}/transfer/").content.decode()
    assert 'id="robustness-matrix"' in page and f"worst: {robustness['worst_family']}" in page


# A method that refuses test columns it never saw in train: the copies' appended columns
# (noise_columns) make its stress run fail, with its own words.
STRICT_MAIN = """
import os
from pathlib import Path

import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
train = pd.read_parquet(task / "train.parquet")
test = pd.read_parquet(task / "test.parquet")
unseen = sorted(set(test.columns) - set(train.columns))
if unseen:
    raise SystemExit(f"columns never seen in train: {unseen}")
same = test["left_title"] == test["right_title"]
pd.DataFrame({"id": test["id"], "label": same.astype(int)}).to_csv(
    out / "predictions.csv", index=False
)
"""


def _robustness_cell(participant, task) -> tuple[dict, str]:
    """The participant's entry on the task's board (API) and its robustness cell (page)."""
    board = participant.api().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    (entry,) = [e for e in board["entries"] if e["team"] == participant.team.name]
    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    row = page[page.index(f'data-team="{participant.team.name}"') :]
    cell = row[
        row.index('data-column="robustness"') : row.index(
            "</td>", row.index('data-column="robustness"')
        )
    ]
    return entry, cell


def test_a_failed_stress_run_is_a_final_state_with_its_reason_never_pending(
    tmp_path, small_limits, transactional_db, broker
):
    challenge = ChallengeFactory(daily_submission_limit=20, private_revealed=False)
    task = task_import(
        source=write_products_bundle(tmp_path / "bundle", stress=["noise_columns"]),
        challenge_slug=challenge.slug,
        track_slug="products",
    )
    ada = make_participant(challenge, username="ada")
    clean = _team_run(ada, _upload(ada, challenge, STRICT_MAIN, "Strict"), task)

    # Scored, no stress run yet: the tick queues it within its minute (moving: pending).
    entry, cell = _robustness_cell(ada, task)
    assert entry["robustness_state"] == "pending" and entry["robustness"] is None
    assert "stress tick" in entry["robustness_reason"] and ">pending<" in cell
    (stress,) = stress_queue()
    entry, _ = _robustness_cell(ada, task)
    assert (entry["robustness_state"], entry["robustness_reason"]) == (
        "pending",
        f"stress run #{stress.pk} queued",
    )

    assert algorithm_run_execute(run_pk=stress.pk) == "failed"
    stress.refresh_from_db()
    assert "columns never seen in train" in stress.error
    # The cached board was bumped by the failure: final at once, with the run's words.
    entry, cell = _robustness_cell(ada, task)
    assert entry["robustness_state"] == "failed" and entry["robustness"] is None
    assert "columns never seen in train" in entry["robustness_reason"]
    assert "\n" not in entry["robustness_reason"] and len(entry["robustness_reason"]) <= 300
    assert 'data-state="failed"' in cell and "failed: " in cell
    assert stress_queue() == []  # not retried by itself: the state stays final

    # A new plan queues again: moving once more.
    organizer = UserFactory(is_staff=True)
    task_stress_set(task=task, stress=[{"family": "swap_values"}], actor=organizer)
    entry, _ = _robustness_cell(ada, task)
    assert entry["robustness_state"] == "pending"
    (again,) = stress_queue()
    assert algorithm_run_execute(run_pk=again.pk) == "succeeded"
    entry, _ = _robustness_cell(ada, task)
    assert entry["robustness_state"] == "ready" and entry["robustness_reason"] is None

    # No stress at all for the task: none, saying why (never pending).
    task_stress_set(task=task, stress=[], actor=organizer)
    AlgorithmRun.objects.filter(pk=again.pk).delete()
    entry, cell = _robustness_cell(ada, task)
    assert entry["robustness_state"] == "none"
    assert entry["robustness_reason"] == "the task's stress plan is empty (stress: [])"
    assert 'data-state="none"' in cell
    assert clean.pk  # the clean run itself is untouched


def test_a_version_out_of_the_benchmark_gets_no_stress_run_and_says_so(products, broker):
    challenge, task = products
    ada = make_participant(challenge, username="ada")
    clean = _team_run(ada, _upload(ada, challenge, ROBUST_MAIN, "Robust"), task)
    clean.version.in_benchmark = False
    clean.version.save(update_fields=["in_benchmark"])
    assert stress_queue() == []
    entry, _ = _robustness_cell(ada, task)
    assert entry["robustness_state"] == "none"
    assert "not in it" in entry["robustness_reason"]


def test_a_new_plan_queues_again_and_a_bad_one_is_refused_changing_nothing(products, broker):
    challenge, task = products
    ada = make_participant(challenge, username="ada")
    _team_run(ada, _upload(ada, challenge, ROBUST_MAIN, "Robust"), task)
    (first,) = stress_queue()
    AlgorithmRun.objects.filter(pk=first.pk).update(status=AlgorithmRunStatus.FAILED)
    assert stress_queue() == []  # a failed stress run is not retried by itself
    organizer = UserFactory(is_staff=True)
    with pytest.raises(StressRefused) as refused:
        task_stress_set(task=task, stress=[{"family": "numeric_noise"}], actor=organizer)
    assert "unknown family 'numeric_noise' for matching tasks" in str(refused.value)
    task.refresh_from_db()
    assert task.meta["stress"] == [
        {"family": "typos", "strength": 0.5, "share": 0.4},
        {"family": "transliteration", "strength": 0.5, "share": 0.4},
    ]
    task_stress_set(task=task, stress=[{"family": "swap_values"}], actor=organizer)
    (second,) = stress_queue()
    assert second.options["stress"] == [{"family": "swap_values", "strength": 0.5, "share": 1.0}]
    task_stress_set(task=task, stress=[], actor=organizer)
    AlgorithmRun.objects.filter(pk=second.pk).update(status=AlgorithmRunStatus.CANCELLED)
    assert stress_queue() == []  # off


def test_the_console_lists_the_families_and_refuses_a_bad_choice(products):
    _, task = products
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/datasets/task/{task.pk}/stress/"
    page = staff.get(url).content.decode()
    assert 'data-family="duplicate_rate"' in page and "typos (strength 0.5" in page
    response = staff.post(url, {"mode": "custom", "custom": '[{"family": "typo"}]'})
    assert (
        "unknown family &#x27;typo&#x27; for matching tasks (did you mean &#x27;typos&#x27;?)"
        in (response.content.decode())
    )
    response = staff.post(url, {"mode": "custom", "custom": "[{"})
    assert "This is not JSON" in response.content.decode()
    assert staff.post(url, {"mode": "defaults"}).status_code == 302
    task.refresh_from_db()
    assert task.meta["stress"] is None


def test_scores_of_a_file_do_not_depend_on_stress(products):
    """score_file's metrics are the clean ones whatever the task's stress plan."""
    _, task = products
    test = pq.read_table(task.test_parquet.path)
    path = Path(task.test_parquet.path).parent / "ones.csv"
    test.to_pandas().assign(label=1)[["id", "label"]].to_csv(path, index=False)
    first = score_file(str(path), solution_for_task(task=task)).scores()
    task_stress_set(task=task, stress=[], actor=None)
    again = score_file(str(path), solution_for_task(task=task)).scores()
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert set(first["all"]) == {"f1", "precision", "recall"}  # no stress figure among them
    assert np.isfinite(first["all"]["f1"])


def test_a_stress_run_with_the_inputs_of_a_finished_one_takes_its_result(products, broker):
    challenge, task = products
    ada = make_participant(challenge, username="ada")
    _team_run(ada, _upload(ada, challenge, BRITTLE_MAIN, "Brittle"), task)
    (first,) = stress_queue()
    assert algorithm_run_execute(run_pk=first.pk) == "succeeded"
    first.refresh_from_db()
    again = run_create(
        profile=STRESS,
        version=first.version,
        task=task,
        options=first.options,
        audit=False,
        seed=first.seed,
        limits=first.limits,
    )
    AlgorithmRun.objects.filter(pk=again.pk).update(stress_of=first.stress_of)
    assert algorithm_run_execute(run_pk=again.pk) == "succeeded"
    again.refresh_from_db()
    assert again.reused_from_id == first.pk and again.backend == "reused"
    assert again.cpu_seconds is None  # no CPU spent: neither the budget nor the share counts it
    assert again.robustness["splits"] == first.robustness["splits"]


def test_the_baseline_gets_a_stress_run_on_its_own_queue_with_its_options(products, broker):
    challenge, task = products
    version = baseline_algorithm_version(challenge=challenge)
    test = pq.read_table(task.test_parquet.path).to_pandas()
    path = Path(task.test_parquet.path).parent / "baseline.csv"
    test.assign(label=0)[["id", "label"]].to_csv(path, index=False)
    submission = submission_create_for_job(
        task=task, team=version.algorithm.team, predictions=path, note="baseline", name="b"
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    options = {"presets": "medium_quality", "time_limit": 60, "hard_timeout": 300}
    clean = AlgorithmRun.objects.create(
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
    (stress,) = stress_queue()
    assert stress.profile == "baseline_stress" and stress.stress_of_id == clean.pk
    assert {k: stress.options[k] for k in options} == options  # the baseline's environment
    assert stress.limits == clean.limits and stress.seed == 7
    assert profile_of(run=stress).queue == "baselines"
