"""The publishes this process could not make (the broker refused or was unreachable).

:func:`jobs.lifecycle.publish` counts them here: the row stays queued and
:mod:`jobs.republish` sends it once the broker answers. A ``manage.py`` command reports them
itself when it ends (one line and a non-zero status) instead of a log line for each. After a
failed publish the broker is not tried again for a moment (:mod:`jobs.redis_rest`, the one
rest of a Redis address in a process).

Apart from :mod:`jobs.lifecycle`, which imports the job models: ``manage.py`` reads this
before Django is set up, when no model may be imported yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PublishFailures:
    """The publishes this process could not make so far."""

    count: int = 0
    last: str = ""  # why the last one failed
    reported_at_exit: bool = False


_failures = PublishFailures()


def publish_failures() -> PublishFailures:
    """The publishes this process could not make so far."""
    return _failures


def report_publish_failures_at_exit() -> None:
    """This process reports its failed publishes itself, once, when it ends (a ``manage.py``
    command: one line and a non-zero status), instead of a log line for each."""
    _failures.reported_at_exit = True


def publish_failed(reason: str) -> None:
    """Count a failed publish (the broker's rest after it is :mod:`jobs.redis_rest`'s)."""
    _failures.count += 1
    _failures.last = reason
