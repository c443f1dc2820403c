"""A web request that lost the database before committing anything is run again
(runtime/wsgi_retry.py): the client gets one answer, and one submission exists.

The requests go through the real WSGI stack (the retry layer, the chunked-body layer,
Django's handler) in this process; the database "restarts" as a statement that fails with
the connection closed under it, the way PostgreSQL's fast shutdown or
``pg_terminate_backend`` ends a connection.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, connection
from django.test.client import RequestFactory

from challenge_platform.wsgi_body import ChunkedBodyMiddleware
from runtime import wsgi_retry
from runtime.wsgi_retry import DatabaseRetryMiddleware
from scoring.models import Submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    api_key,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def task(tmp_path):
    """A task of its own (a transactional test cannot share the module's rolled-back one)."""
    return imported_task(tmp_path, challenge=ChallengeFactory())


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice", name="Alpha")


def call(app, environ) -> tuple[str, bytes]:
    answer = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answer.append(status)))
    assert len(answer) == 1  # one answer reaches the client, whatever was run again
    return answer[0], body


def upload_environ(task, user) -> dict:
    request = RequestFactory().post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {"file": upload(csv_bytes(predictions_frame(task))), "note": "retried"},
        HTTP_AUTHORIZATION=f"Token {api_key(user)}",
    )
    return request.environ


class LoseConnection:
    """Fail the first statement matching ``sql`` (after it ran) with the connection closed
    under it, ``times`` times."""

    def __init__(self, sql: str, times: int = 1) -> None:
        self.sql, self.left, self.hit = sql, times, 0

    def __call__(self, execute, sql, params, many, context):
        if self.left and sql.lstrip().upper().startswith(self.sql):
            self.left -= 1
            self.hit += 1
            context["connection"].connection.rollback()  # what the server does as it ends it
            context["connection"].close()
            raise OperationalError("terminating connection due to administrator command")
        return execute(sql, params, many, context)


def upload_losing_the_database(task, user, times: int = 1) -> tuple[str, bytes, int]:
    """An upload through the retry layer whose submission's INSERT loses the connection
    ``times`` times: its answer and how often the fault hit."""
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    fault = LoseConnection('INSERT INTO "SCORING_SUBMISSION"', times=times)
    with connection.execute_wrapper(fault):
        status, body = call(app, upload_environ(task, user))
    return status, body, fault.hit


def test_an_upload_that_lost_the_database_before_commit_is_run_again_once(task, alice):
    status, body, hit = upload_losing_the_database(task, alice.user)
    assert hit == 1
    assert status.startswith("201"), body
    (submission,) = Submission.objects.all()  # the lost attempt's row was rolled back
    assert json.loads(body)["id"] == submission.pk and submission.note == "retried"


def test_without_the_layer_the_client_gets_the_503(task, alice):
    app = ChunkedBodyMiddleware(WSGIHandler())
    with connection.execute_wrapper(LoseConnection('INSERT INTO "SCORING_SUBMISSION"')):
        status, body = call(app, upload_environ(task, alice.user))
    assert status.startswith("503") and b"database_unavailable" in body
    assert not Submission.objects.exists()


def test_it_gives_up_after_its_retries(task, alice, settings):
    settings.DATABASE_RETRIES = 2
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    fault = LoseConnection('INSERT INTO "SCORING_SUBMISSION"', times=5)
    with connection.execute_wrapper(fault):
        status, _ = call(app, upload_environ(task, alice.user))
    assert fault.hit == 3 and status.startswith("503")
    assert not Submission.objects.exists()


def test_a_request_that_committed_a_write_is_not_run_again(task, alice):
    """The connection is lost after the submission's transaction committed (here: on the
    next statement): running the request again could do the write twice, so the client
    gets the error and no second row is made."""
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    committed = {"seen": False}

    def after_commit(execute, sql, params, many, context):
        if committed["seen"]:
            context["connection"].close()
            raise OperationalError("server closed the connection unexpectedly")
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith('INSERT INTO "SCORING_SUBMISSION"'):
            from django.db import transaction

            transaction.on_commit(lambda: committed.update(seen=True))
        return result

    with connection.execute_wrapper(after_commit):
        status, _ = call(app, upload_environ(task, alice.user))
    assert not status.startswith("201")
    assert Submission.objects.count() == 1


def test_an_upload_with_a_key_that_lost_the_database_after_its_commit_is_answered_once(
    task, alice
):
    """The same loss after the commit, for an upload that carries an Idempotency-Key: the
    request runs again, finds the submission by its key and answers it (201, replayed):
    the client gets no 503 to send again, and one row exists."""
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    committed = {"seen": False, "lost": 0}

    def after_commit(execute, sql, params, many, context):
        if committed["seen"] and not committed["lost"]:
            committed["lost"] += 1
            context["connection"].close()
            raise OperationalError("server closed the connection unexpectedly")
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith('INSERT INTO "SCORING_SUBMISSION"'):
            from django.db import transaction

            transaction.on_commit(lambda: committed.update(seen=True))
        return result

    environ = upload_environ(task, alice.user)
    environ["HTTP_IDEMPOTENCY_KEY"] = "retry-after-commit"
    with connection.execute_wrapper(after_commit):
        status, body = call(app, environ)
    assert committed["lost"] == 1
    assert status.startswith("201"), body
    (submission,) = Submission.objects.all()
    assert json.loads(body)["id"] == submission.pk


def test_the_body_is_replayed_from_its_first_byte_however_it_was_read():
    stream = io.BytesIO(b"line one\nline two\nthe rest of the body")
    body = wsgi_retry._Body(stream)
    assert body.readline() == b"line one\n" and body.read(4) == b"line"
    again = body.again()
    assert again.read(3) == b"lin" and again.readline() == b"e one\n"
    assert again.read() == b"line two\nthe rest of the body"
    third = again.again()
    assert list(third) == [b"line one\n", b"line two\n", b"the rest of the body"]


def test_a_body_over_the_cap_is_not_kept(monkeypatch):
    monkeypatch.setattr(wsgi_retry, "RETRY_BODY_MAX_BYTES", 10)
    body = wsgi_retry._Body(io.BytesIO(b"x" * 25))
    assert body.read(8) == b"x" * 8 and body.whole
    assert body.read() == b"x" * 17 and not body.whole


def test_a_page_that_lost_the_database_is_run_again_too(task):
    """A page (no API exception handler): Django's 500 is dropped and the page runs again."""
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    environ = RequestFactory().get(f"/tasks/{task.slug}/").environ
    fault = LoseConnection("SELECT")
    with connection.execute_wrapper(fault):
        status, body = call(app, environ)
    assert fault.hit == 1
    assert status.startswith("200") and task.title.encode() in body


def test_a_release_check_that_lost_the_database_after_taking_its_budget_is_run_again(tmp_path):
    """A release check takes one use of its team's daily budget (committed) before it
    computes its answer; the database goes away while it computes. The use is given back
    before the check runs again (runtime.wsgi_retry.undone_on_replay): the client gets its
    answer, not a 503, and the team has spent one check, not two."""
    from django.db import transaction

    from leaderboard.models import ReleaseCheckUse
    from scoring.services.references import reference_upload
    from tests.leaderboard_tests.champion_world import gate_task, world_of

    challenge = ChallengeFactory(slug="retry-gate")
    task = gate_task(tmp_path, challenge_slug=challenge.slug, rows=600)
    world = world_of(task)
    reference_upload(
        task=task, name="production", file=upload(world.file(world.reference), "p.csv"),
        make_primary=True,
    )  # fmt: skip
    ann = make_participant(challenge, username="ann", name="Ann")
    request = RequestFactory().post(
        f"/api/v1/tasks/{task.slug}/release-check/",
        {"file": upload(world.file(world.planted["many_flips"]), "check.csv")},
        HTTP_AUTHORIZATION=f"Token {api_key(ann.user)}",
    )
    taken = {"committed": False, "lost": []}

    def lose_after_the_use(execute, sql, params, many, context):
        # Once the use is committed: the next query fails as the database goes away, and so
        # does the check's own give-back of its use (the database still away).
        head = sql.lstrip().upper()
        losing = taken["committed"] and len(taken["lost"]) < 2
        if losing and (
            (not taken["lost"] and head.startswith("SELECT"))
            or (taken["lost"] and head.startswith('DELETE FROM "LEADERBOARD_RELEASECHECKUSE"'))
        ):
            taken["lost"].append(head.split()[0])
            raise OperationalError("terminating connection due to administrator command")
        result = execute(sql, params, many, context)
        if head.startswith('INSERT INTO "LEADERBOARD_RELEASECHECKUSE"'):
            transaction.on_commit(lambda: taken.update(committed=True))
        return result

    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    with connection.execute_wrapper(lose_after_the_use):
        status, body = call(app, request.environ)
    assert taken["lost"] == ["SELECT", "DELETE"]
    assert status.startswith("200"), body
    assert json.loads(body)["budget"]["used"] == 1
    assert ReleaseCheckUse.objects.filter(team=ann.team).count() == 1


def test_an_upload_run_again_counts_once_against_its_team_s_rate(task, alice, settings):
    """The lost attempt's slot of the upload rate is given back before the request runs
    again: with one upload a minute, the replay is accepted, and the next upload is not."""
    settings.TEAM_UPLOAD_RATE = "1/minute"
    status, body, hit = upload_losing_the_database(task, alice.user)
    assert hit == 1
    assert status.startswith("201"), body
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    status, body = call(app, upload_environ(task, alice.user))
    assert status.startswith("429"), body
    assert Submission.objects.count() == 1


def test_an_upload_answered_503_after_its_retries_costs_no_rate(task, alice, settings):
    settings.TEAM_UPLOAD_RATE = "1/minute"
    settings.DATABASE_RETRIES = 1
    status, _, hit = upload_losing_the_database(task, alice.user, times=2)
    assert hit == 2 and status.startswith("503")
    app = DatabaseRetryMiddleware(ChunkedBodyMiddleware(WSGIHandler()))
    status, body = call(app, upload_environ(task, alice.user))  # the client sends it again
    assert status.startswith("201"), body
