"""End to end through the real Redis and a real Celery worker process, over the API."""

from __future__ import annotations

import pytest

from scoring.models import Submission
from tests.scoring_tests.corpus import CORPUS
from tests.scoring_tests.factories import (
    ChallengeFactory,
    assert_scores_equal,
    csv_bytes,
    imported_task,
    make_participant,
    parquet_bytes,
    predictions_frame,
    sklearn_scores,
)
from tests.support.broker import queued_submission_pks

from .worker_helpers import api_upload, poll_until_final

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

# A representative subset of the corpus: reader, header, ids, labels, probabilities, gzip,
# Parquet and matching rules (test_invalid_files.py runs all of them in-process).
THROUGH_THE_WORKER = [
    "no label column",
    "duplicate ids",
    "unknown class",
    "probabilities sum to 0.5",
    "semicolon separated",
    "Latin-1 after the first 8 KB",
    "gzipped twice",
    "damaged parquet",
    "matching score above 1",
]






def test_uploads_are_scored_by_a_real_worker_like_scikit_learn(scoring_worker, tmp_path, broker):
    challenge = ChallengeFactory(daily_submission_limit=50, private_revealed=True)
    tasks = {
        kind: imported_task(tmp_path, kind=kind, challenge=challenge)
        for kind in ("classification", "matching")
    }
    client = make_participant(challenge).api()
    cases = {case.name: case for case in CORPUS}
    broken = {
        api_upload(
            client,
            tasks[cases[name].kind],
            cases[name].build(predictions_frame(tasks[cases[name].kind])),
            f"{name}.bin",
        ): cases[name]
        for name in THROUGH_THE_WORKER
    }
    frames = {kind: predictions_frame(task, shuffle=True, seed=7) for kind, task in tasks.items()}
    good = {
        api_upload(
            client, tasks["classification"], parquet_bytes(frames["classification"]), "c.parquet"
        ): "classification",
        api_upload(
            client, tasks["matching"], csv_bytes(frames["matching"], gzipped=True), "m.csv.gz"
        ): "matching",
    }

    for pk, case in broken.items():
        body = poll_until_final(client, pk, scoring_worker)
        assert body["status"] == "failed", case.name
        assert case.expect in body["error"], case.name
        assert body["scores"] == {}
    for pk, kind in good.items():
        body = poll_until_final(client, pk, scoring_worker)
        assert body["status"] == "scored", body["error"]
        assert_scores_equal(body["scores"], sklearn_scores(tasks[kind], frames[kind]))

    # After all those failures the worker still serves: one more upload is scored.
    last = api_upload(client, tasks["matching"], csv_bytes(frames["matching"]), "again.csv")
    assert poll_until_final(client, last, scoring_worker)["status"] == "scored"
    assert scoring_worker.process.poll() is None
    # Every scoring message went through Redis and was consumed. (The last scoring's board
    # work, published on the same queue after its commit, may still be waiting: not counted.)
    assert queued_submission_pks(broker) == []
    assert set(Submission.objects.values_list("attempts", flat=True)) == {1}
    assert not Submission.objects.filter(status__in=["queued", "scoring"]).exists()
