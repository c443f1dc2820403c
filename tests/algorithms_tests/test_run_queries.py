"""A run's request and its status read ask each rule once (issue 68), as an upload does
(tests/scoring_tests/test_upload_queries.py): the SQL of ``POST algorithms/<id>/runs/`` and of
``GET algorithm-runs/<id>/``, counted on the real path.

Before: the request read the open phase three times (the admission, the daily limit under the
team's lock, the run's own phase) and counted the team's pending runs twice (the queue's cap,
then each task's daily room); the read asked whether the run was visible and whose team it was
in two queries, and read the challenge (whose reveal decides the robustness shown) in a third.
The team's lock and the counts under it stay: two requests at once never both take the last
place in the queue or the day's last submission (tests/algorithms_tests/test_services.py).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from algorithms.models import AlgorithmRun
from algorithms.services.execute import algorithm_run_execute
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive, queue

# The token (2), the algorithm, the membership, its version, the tasks, the phase; then under
# the lock (its transaction's begin and commit): the team, the team's pending runs (in all and
# on each task), today's submissions, the run.
RUN_REQUEST_QUERIES = 13  # 16 before
# The token (2), the run's team if the caller may see it, its status, the run with its task,
# challenge and submission, its reproductions, its stress runs.
RUN_READ_QUERIES = 7  # 9 before


def _counted(seen: CaptureQueriesContext, *fragments: str) -> int:
    """The statements that name every one of ``fragments``."""
    return sum(all(f in q["sql"] for f in fragments) for q in seen.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_a_run_request_reads_the_phase_once_and_counts_pending_runs_once(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    queue(client, algorithm["id"], tasks=[world.classification.slug])  # one pending already

    with CaptureQueriesContext(connection) as seen:
        (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]

    assert _counted(seen, 'FROM "challenges_phase"') == 1
    assert _counted(seen, 'FROM "algorithms_algorithmrun"', "COUNT(") == 1
    assert len(seen.captured_queries) <= RUN_REQUEST_QUERIES
    assert AlgorithmRun.objects.get(pk=run["id"]).phase_id == world.challenge.phases.get().pk


@pytest.mark.django_db(transaction=True)
def test_a_run_read_asks_who_may_see_it_once(world, broker):
    client = world.participant.api()
    algorithm = post_archive(client, world.challenge, algorithm_zip()).json()
    (run,) = queue(client, algorithm["id"], tasks=[world.classification.slug]).json()["runs"]
    assert algorithm_run_execute(run_pk=run["id"], delivery_id="delivery-1") == "succeeded"
    url = f"/api/v1/algorithm-runs/{run['id']}/"

    with CaptureQueriesContext(connection) as seen:
        answer = client.get(url)

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["submission_status"]) == ("succeeded", "scored")
    assert _counted(seen, '"challenges_teammembership"') == 2  # may see it; the run itself
    assert not _counted(seen, 'FROM "challenges_challenge"')  # joined with the run
    assert len(seen.captured_queries) <= RUN_READ_QUERIES
    # Another team's member finds no such run.
    assert world.rival.api().get(url).status_code == 404
