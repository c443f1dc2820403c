"""``chal`` prints robustness (docs/organizers/stress.md): a column of the task leaderboard (the
mean ratio and the worst family; "needs an algorithm" for a prediction file) and, with
``chal algorithm show-run``, a run's figures per stress family, as the API sends them."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from algorithms.models import AlgorithmRun
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.stress_queue import stress_queue
from chal_client.robustness import robustness_cell, shows_robustness
from datasets.services import task_import
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from testkit.archives import algorithm_zip
from tests.algorithms_tests.stress_data import ROBUST_MAIN, write_products_bundle
from tests.challenges_tests.factories import PASSWORD
from tests.scoring_tests.factories import ChallengeFactory, make_participant, upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_leaderboard_and_show_run_print_robustness(
    chal, live_server, tmp_path: Path, broker, monkeypatch
):
    challenge = ChallengeFactory(daily_submission_limit=20)
    task = task_import(
        source=write_products_bundle(
            tmp_path / "bundle", stress=[{"family": "typos"}, {"family": "swap_values"}]
        ),
        challenge_slug=challenge.slug,
        track_slug="products",
    )
    ada = make_participant(challenge, username="ada")
    algorithm = ada.api().post(
        f"/api/v1/challenges/{challenge.slug}/algorithms/",
        {"file": upload(algorithm_zip(ROBUST_MAIN, name="Robust"), "algo.zip")},
        format="multipart",
    ).json()
    (run,) = ada.api().post(
        f"/api/v1/algorithms/{algorithm['id']}/runs/", {"tasks": [task.slug]}, format="json"
    ).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"]) == "succeeded"
    clean = AlgorithmRun.objects.get(pk=run["id"])
    assert clean.submission.status == SubmissionStatus.SCORED  # in the run's worker
    (stress,) = stress_queue()
    assert algorithm_run_execute(run_pk=stress.pk) == "succeeded"
    carol = make_participant(challenge, username="carol")
    ids = pq.read_table(task.test_parquet.path, columns=["id"])["id"].to_pylist()
    body = "id,label\n" + "".join(f"{i},0\n" for i in ids)
    sent = carol.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(body.encode(), "carol.csv")},
        format="multipart",
    )
    assert submission_score(submission_pk=sent.json()["id"]) == SubmissionStatus.SCORED

    api = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    shown = next(e for e in api["entries"] if e["team"] == ada.team.name)["robustness"]
    board = chal("leaderboard", task.slug, "--server", live_server.url)
    assert board.code == 0, board.err
    assert "robustness" in board.out.splitlines()[1]
    lines = board.out.splitlines()[3:]
    ada_line = next(line for line in lines if f" {ada.team.name} " in f" {line} ")
    assert f"{shown['mean_ratio']:.2f} (worst: {shown['worst_family']})" in ada_line
    carol_line = next(line for line in lines if f" {carol.team.name} " in f" {line} ")
    assert "needs an algorithm" in carol_line

    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert chal("login", "--server", live_server.url, "--username", "ada").code == 0
    out = chal("algorithm", "show-run", str(clean.pk))
    assert out.code == 0, out.err
    assert f"stress run {stress.pk}" in out.out and "copies of public rows" in out.out
    header = out.out.splitlines()[2]
    assert header.split()[:3] == ["family", "score", "on"]
    for family, figures in shown["families"].items():
        line = next(line for line in out.out.splitlines() if line.startswith(family))
        assert f"{figures['ratio']:.4f}" in line
    missing = chal("algorithm", "show-run", "999999")
    assert missing.code == 1 and "error:" in missing.err


def test_a_failed_stress_run_reads_failed_and_keeps_the_column() -> None:
    failed = {"team_id": 3, "robustness": None, "robustness_state": "failed"}
    assert robustness_cell(failed) == "failed"
    assert shows_robustness([failed])
    assert not shows_robustness([{"team_id": 3, "robustness": None, "robustness_state": "none"}])
