"""The shared job lifecycle's helpers (the lifecycle itself is exercised by the scoring,
algorithm-run and webhook tests, through real workers)."""

from __future__ import annotations

import pytest

from challenge_platform import jobs


def test_publishing_an_unknown_task_name_is_a_programming_error():
    with pytest.raises(LookupError, match=r"no Celery task named 'scoring\.tasks\.nope'"):
        jobs.publish("scoring.tasks.nope", submission_pk=1)


def test_retry_backoff_doubles_up_to_a_minute():
    assert [jobs.retry_countdown(n) for n in (1, 2, 3, 6, 7)] == [2.0, 4.0, 8.0, 60.0, 60.0]


def test_a_kind_may_set_its_own_backoff_base_and_cap():
    assert [jobs.retry_countdown(n, base=30, cap=100) for n in (1, 2, 3, 4)] == [
        30.0,
        60.0,
        100.0,
        100.0,
    ]


def test_a_kind_whose_field_would_shadow_a_transition_parameter_is_refused():
    from challenge_platform.models import Challenge

    with pytest.raises(ValueError, match=r"may not be named \['token'\]"):
        jobs.JobKind(
            model=Challenge,
            task_name="x.tasks.y",
            pk_kwarg="pk",
            queued="queued",
            running="running",
            final=("done",),
            failed="failed",
            token_field="token",
        )
