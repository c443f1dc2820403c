"""The shared job lifecycle's helpers (the lifecycle itself is exercised by the scoring,
algorithm-run and webhook tests, through real workers)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jobs import lifecycle, registry


def test_publishing_an_unknown_task_name_is_a_programming_error():
    with pytest.raises(LookupError, match=r"no Celery task named 'scoring\.tasks\.nope'"):
        lifecycle.publish("scoring.tasks.nope", submission_pk=1)


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
    assert registry.job_type_named(SCORING.key) is SCORING


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
