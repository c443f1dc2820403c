"""The shared job lifecycle's helpers (the lifecycle itself is exercised by the scoring,
algorithm-run and webhook tests, through real workers)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from jobs import lifecycle, registry


def test_publishing_an_unknown_task_name_is_a_programming_error():
    with pytest.raises(LookupError, match=r"no Celery task named 'scoring\.tasks\.nope'"):
        lifecycle.publish(task_name="scoring.tasks.nope", submission_pk=1)


def test_retry_backoff_doubles_up_to_a_minute():
    assert [lifecycle.retry_countdown(n) for n in (1, 2, 3, 6, 7)] == [2.0, 4.0, 8.0, 60.0, 60.0]


def test_a_type_may_set_its_own_backoff_base_and_cap():
    assert [lifecycle.retry_countdown(n, base=30, cap=100) for n in (1, 2, 3, 4)] == [
        30.0,
        60.0,
        100.0,
        100.0,
    ]


def test_a_second_job_type_for_a_registered_task_is_refused_and_the_same_one_is_harmless():
    from scoring.services.lifecycle import SCORING

    registry.register(SCORING)  # again: what every app's ready() may do twice
    other = replace(SCORING, label="another definition of the same task's jobs")
    with pytest.raises(ValueError, match=r"another job type is registered for scoring\.tasks"):
        registry.register(other)
    assert registry.job_type_named(key=SCORING.key) is SCORING


@pytest.mark.django_db
def test_a_task_that_lost_the_database_waits_for_it_and_runs_again_in_its_worker(monkeypatch):
    """The database was unreachable (a restart, a cut link): the task waits for it in its
    pool process and runs its (idempotent) body again, instead of a retry through the
    broker; once only, then Celery's retry takes over. Other temporary errors retry at once."""
    from django.db import OperationalError

    from jobs import celery as jobs_celery
    from jobs.celery import TemporaryError, _riding_out_database_outages

    calls, waits = [], []

    def body(fail: list[BaseException | None]) -> str:
        calls.append(1)
        exc = fail.pop(0)
        if exc is None:
            return "done"
        raise TemporaryError(str(exc)) from exc

    def waited(*, seconds: float, every: float = 1.0) -> bool:
        waits.append(seconds)
        return answers

    real_wait = jobs_celery.wait_for_database
    monkeypatch.setattr(jobs_celery, "wait_for_database", waited)
    task = _riding_out_database_outages(body)
    answers = True
    lost = OperationalError("server closed the connection unexpectedly")
    assert task([lost, None]) == "done" and len(calls) == 2 and waits == [60.0]
    with pytest.raises(TemporaryError):  # lost again after the wait: Celery's retry
        task([lost, lost, None])
    answers = False
    with pytest.raises(TemporaryError):  # the database did not come back in time
        task([lost, None])
    calls.clear()
    with pytest.raises(TemporaryError):  # storage, not the database: no wait
        task([OSError("S3 unavailable"), None])
    assert len(calls) == 1
    assert real_wait(seconds=1) is True  # the test database answers


def test_a_worker_closing_its_channel_leaves_its_unacknowledged_messages_to_the_lifecycle(
    redis_server, redis_client
):
    """The broker transport the workers use (jobs/broker_transport.py): closing a channel
    that holds an unacknowledged message does not put it back on the queue (kombu's own
    does, and crashed the worker doing it after a broker restart); it stays in kombu's
    unacked hash, where the lifecycle's republish finds it."""
    from django.conf import settings
    from kombu import Connection, Exchange, Queue

    from jobs.celery import celery_app

    assert celery_app().conf.broker_transport == settings.CELERY_BROKER_TRANSPORT
    redis_client.flushall()
    queue = Queue("chaos-test", Exchange("chaos-test"), "chaos-test")
    for transport, left_on_queue in ((None, 1), (settings.CELERY_BROKER_TRANSPORT, 0)):
        redis_client.flushall()
        with Connection(redis_server.url, transport=transport) as conn:
            with conn.Producer() as producer:
                producer.publish({"n": 1}, exchange=queue.exchange, routing_key="chaos-test",
                                 declare=[queue])  # fmt: skip
            message = queue(conn.default_channel).get(no_ack=False)
            assert message is not None
            errors = conn.connection_errors
            channel = conn.default_channel
        assert redis_client.llen("chaos-test") == left_on_queue, transport
        assert redis_client.hlen("unacked") == 1 - left_on_queue, transport
    # The job finished after the worker had reconnected: its ack on the old channel is an
    # ack that could not be made (logged; Celery goes on), not an AttributeError.
    channel._pool = None  # as kombu leaves it when the broker connection was lost
    message.ack_log_error(logging.getLogger("test"), errors)
    assert redis_client.hlen("unacked") == 1


def test_a_worker_reconnects_to_its_broker_every_second_or_two(monkeypatch):
    """The workers' consumer (jobs/consumer.py) asks kombu for waits of 1 then 2 s between
    connection tries, not kombu's 2, 4, 6 ... 30 s."""
    from django.conf import settings

    from jobs import consumer
    from jobs.celery import celery_app

    assert celery_app().conf.worker_consumer == settings.CELERY_WORKER_CONSUMER
    asked: list[dict] = []

    class Conn:
        def ensure_connection(self, *args, **kwargs):
            asked.append(kwargs)
            return self

    def celery_ensure_connected(self, conn):
        return conn.ensure_connection(None, 100, callback=None)

    monkeypatch.setattr(consumer.CeleryConsumer, "ensure_connected", celery_ensure_connected)
    consumer.Consumer.__new__(consumer.Consumer).ensure_connected(Conn())
    assert asked == [{"callback": None, **consumer.RECONNECT}]
    assert consumer.RECONNECT["interval_max"] <= 2


def test_every_job_type_names_the_text_field_a_failure_s_reason_goes_to():
    """The lifecycle fails a job no worker starts (jobs.republish) in its type's
    ``error_field``; ``kind_field`` names what jobs.health shows as its kind."""
    assert len(registry.registered()) >= 6  # every app registered its types at start
    for job_type in registry.registered():
        meta = job_type.model._meta
        field = meta.get_field(job_type.error_field)
        assert field.get_internal_type() in ("TextField", "CharField"), job_type.key
        if job_type.kind_field is not None:
            meta.get_field(job_type.kind_field)
