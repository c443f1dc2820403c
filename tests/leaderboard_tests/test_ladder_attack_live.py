"""One attack of docs/organizers/ladder.md end to end: 200 random label vectors uploaded through the
API at once (a batch, as ``attacks.jl`` plays it), scored by a real Celery worker from the real
Redis, each weighed in the board's refresh in the worker; the attacker reads what it may
(``climbed``), uploads the majority of what climbed, and the board shows its leader.

Every one of the 201 decisions equals the oracle's (scipy's paired t statistic on the 0/1
losses, ``ladder_oracle.py``), whatever order the worker scored them in (a later entry
scored first is weighed again when an earlier one lands), and the leader stays within
0.035 of its private score. This is the attack of seed 0 of ``test_ladder_attack.py``, which
plays the same attacks with the scoring service called in-process.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.cache import cache

from leaderboard.models import LadderStep, LeaderboardEntry
from scoring.models import Submission, SubmissionStatus
from tests.leaderboard_tests.ladder_attack import PUBLIC_ROWS, ROWS, K, api_upload
from tests.leaderboard_tests.ladder_oracle import ladder_oracle
from tests.leaderboard_tests.ladder_world import random_label_task
from tests.scoring_tests.factories import ChallengeFactory, make_participant

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow, pytest.mark.timeout(1800)]


def _settled(task, pks: list[int], worker, timeout: float = 900) -> dict[int, bool]:
    """Wait until every submission is scored and weighed, and the steps stay as they are."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        scored = Submission.objects.filter(pk__in=pks, status=SubmissionStatus.SCORED).count()
        steps = dict(
            LadderStep.objects.filter(task=task, submission_id__in=pks).values_list(
                "submission_id", "climbed"
            )
        )
        if scored == len(pks) and len(steps) == len(pks):
            if steps == last:
                return steps
            last = steps
        failed = Submission.objects.filter(pk__in=pks, status=SubmissionStatus.FAILED)
        assert not failed.exists(), list(failed.values_list("error", flat=True))
        time.sleep(2.0)
    raise AssertionError(f"not settled in {timeout:g} s; worker log:\n{worker.log_tail()}")


def test_one_attack_through_the_api_and_a_worker_decides_as_the_oracle(
    celery_worker, redis_client, tmp_path, settings
):
    redis_client.flushall()
    cache.clear()
    settings.TEAM_UPLOAD_RATE = "0"  # an operator's setting (0: no rate limit)
    challenge = ChallengeFactory(slug="cup", daily_submission_limit=10)
    challenge.daily_submission_limit = 10_000  # raised, as an organizer can
    challenge.save(update_fields=["daily_submission_limit"])
    planted = random_label_task(
        tmp_path, challenge="cup", slug="r0", rows=ROWS, seed=100,
        public_fraction=PUBLIC_ROWS / ROWS, mode="ladder",
    )  # fmt: skip
    attacker = make_participant(challenge, name="attacker")
    client = attacker.api()
    labels = np.array(planted.task.classes)
    vectors = np.random.default_rng(0).integers(0, 2, size=(K, planted.truth.size))
    pks = [api_upload(client, planted, labels[v], f"0-{j}") for j, v in enumerate(vectors)]
    _settled(planted.task, pks, celery_worker)
    seen = {}
    for offset in range(0, K, 100):  # the list's pages, as ``chal submissions`` reads them
        page = client.get(
            "/api/v1/submissions/", {"task": planted.task.slug, "limit": 100, "offset": offset}
        ).json()
        seen |= {item["id"]: item for item in page["results"]}
    climbed = [bool(seen[pk]["climbed"]) for pk in pks]
    expected, leader = [], None
    for v in vectors:
        climb = leader is None or ladder_oracle(planted, labels[v], labels[leader])
        expected.append(climb)
        leader = v if climb else leader
    assert climbed == expected
    for pk, c in zip(pks, climbed, strict=True):  # what the attacker reads of each
        shown = seen[pk]["shown_score"]
        assert seen[pk]["scores"] == {"public": {"accuracy": shown} if c else {}}
        assert (shown is not None and round(shown, 2) == shown) if c else shown is None

    kept = [j for j, c in enumerate(climbed) if c]
    majority = (vectors[kept].sum(axis=0) * 2 >= len(kept)).astype(int)
    last = api_upload(client, planted, labels[majority], "0-majority")
    steps = _settled(planted.task, [*pks, last], celery_worker)
    assert steps[last] == ladder_oracle(planted, labels[majority], labels[leader])

    board = client.get(f"/api/v1/tasks/{planted.task.slug}/leaderboard/").json()
    (mine,) = [e for e in board["entries"] if e["team_id"] == attacker.team.pk]
    entry = LeaderboardEntry.objects.select_related("submission").get(
        task=planted.task, team=attacker.team, split="public"
    )
    gap = mine["score"] - entry.submission.private_score
    print(f"live attack, seed 0: shown {mine['score']} gap {gap:+.4f}")
    assert board["mode"] == "ladder" and mine["climbed"] is True
    assert gap <= 0.035
