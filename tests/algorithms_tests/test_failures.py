"""A failed run's public category, from its structured fields (issue 51)."""

from __future__ import annotations

import pytest

from algorithms.failures import failure_category
from algorithms.sandbox.base import LIMIT_NAMES


@pytest.mark.parametrize(
    ("limit_hit", "exit_code", "category"),
    [
        ("wall_seconds", -9, "time limit"),
        ("cpu_seconds", 137, "time limit"),
        ("memory_mb", 137, "memory"),
        ("processes", 1, "resource limit"),
        ("output_mb", 0, "resource limit"),
        ("tmp_mb", 1, "resource limit"),
        ("log_mb", 0, "resource limit"),
        ("", 3, "exit code"),
        ("", -11, "exit code"),  # killed by a signal, no limit named
        ("", 0, "invalid output"),  # a clean exit whose output or submission was refused
        ("", None, "platform error"),  # ended before the sandbox said how the program ended
    ],
)
def test_each_way_a_run_fails_has_its_category(limit_hit, exit_code, category):
    assert failure_category(status="failed", limit_hit=limit_hit, exit_code=exit_code) == category


def test_every_limit_a_run_can_hit_has_a_category_and_other_statuses_have_none():
    for limit in LIMIT_NAMES:
        assert (
            failure_category(status="failed", limit_hit=limit, exit_code=None) != "platform error"
        )
    for status in ("succeeded", "queued", "running", "cancelled"):
        assert failure_category(status=status, limit_hit="memory_mb", exit_code=1) is None
