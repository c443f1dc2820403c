"""Stress runs live (docs/organizers/stress.md): a real Redis, a real Celery worker and the real
sandbox.

Two teams' methods on a matching task whose titles carry accents: one ignores the brand
column and compares folded titles fuzzily (robust), one keys on exact strings (brittle).
Both are perfect on the clean test set; on the perturbed copies the robust one keeps its
score and the brittle one loses it, so their robustness ratios are ordered on typos and on
transliteration alike; the board's robustness column and the runs' API say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun
from algorithms.services.stress_queue import stress_queue
from datasets.services import task_import
from testkit.archives import algorithm_zip
from tests.algorithms_tests.stress_data import BRITTLE_MAIN, ROBUST_MAIN, write_products_bundle
from tests.algorithms_tests.worker_helpers import (
    start_runs,
    upload_algorithm,
    wait_run,
    wait_scored,
)
from tests.scoring_tests.factories import ChallengeFactory, make_participant
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

TIMEOUT = 240
PLAN = [{"family": "typos", "share": 0.45}, {"family": "transliteration", "share": 0.45}]


def test_the_robust_method_keeps_its_score_on_copies_that_break_the_brittle_one(
    small_limits, broker, algorithms_worker, tmp_path: Path
):
    challenge = ChallengeFactory(daily_submission_limit=20, private_revealed=False)
    task = task_import(
        source=write_products_bundle(tmp_path / "bundle", stress=PLAN),
        challenge_slug=challenge.slug,
        track_slug="products",
    )
    clean = {}
    for username, main in (("robust", ROBUST_MAIN), ("brittle", BRITTLE_MAIN)):
        team = make_participant(challenge, username=username)
        client = team.api()
        algorithm = upload_algorithm(client, challenge, algorithm_zip(main, name=username))
        (run,) = start_runs(client, algorithm["id"], tasks=[task.slug])
        body = wait_run(client, run["id"], algorithms_worker)
        assert body["status"] == "succeeded", body["error"]
        scored = wait_scored(client, body["submission"], algorithms_worker)
        assert scored["scores"]["public"]["f1"] == 1.0  # both perfect on the clean rows
        clean[username] = (team, run["id"])

    queued = stress_queue()  # what the beat's stress tick does every minute
    assert len(queued) == 2

    def finished():
        runs = list(AlgorithmRun.objects.filter(pk__in=[r.pk for r in queued]))
        return runs if all(r.status in ("succeeded", "failed") for r in runs) else None

    runs = wait_for(finished, timeout=TIMEOUT, what="the stress runs", worker=algorithms_worker)
    assert [r.status for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]

    shown = {}
    for username, (team, run_id) in clean.items():
        body = team.api().get(f"/api/v1/algorithm-runs/{run_id}/").json()
        shown[username] = body["robustness"]
        assert shown[username]["split"] == "public"  # before the reveal: public rows' copies
    for family in ("typos", "transliteration"):
        robust = shown["robust"]["families"][family]
        brittle = shown["brittle"]["families"][family]
        assert robust["ratio"] > brittle["ratio"], (family, robust, brittle)
        assert robust["flip_rate"] < brittle["flip_rate"]
    assert shown["robust"]["mean_ratio"] > shown["brittle"]["mean_ratio"]

    board = clean["robust"][0].api().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    ratios = {e["team"]: (e["robustness"] or {}).get("mean_ratio") for e in board["entries"]}
    robust_team, brittle_team = clean["robust"][0].team.name, clean["brittle"][0].team.name
    assert ratios[robust_team] > ratios[brittle_team]
