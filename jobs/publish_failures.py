"""The publishes this process could not make (the broker refused or was unreachable).

:func:`jobs.lifecycle.publish` counts them here: the row stays queued and
:mod:`jobs.republish` sends it once the broker answers. A ``manage.py`` command reports them
itself when it ends (one line and a non-zero status) instead of a log line for each.

Apart from :mod:`jobs.lifecycle`, which imports the job models: ``manage.py`` reads this
before Django is set up, when no model may be imported yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# After a failed publish this process does not try the broker again for this long: a command
# that queues many jobs fails at once instead of waiting out every retry (the rows are safe).
BROKER_DOWN_SECONDS = 5.0


@dataclass
class PublishFailures:
    """The publishes this process could not make so far."""

    count: int = 0
    last: str = ""  # why the last one failed
    down_until: float = 0.0  # monotonic: the broker is not tried again before this
    reported_at_exit: bool = False


_failures = PublishFailures()


def publish_failures() -> PublishFailures:
    """The publishes this process could not make so far."""
    return _failures


def report_publish_failures_at_exit() -> None:
    """This process reports its failed publishes itself, once, when it ends (a ``manage.py``
    command: one line and a non-zero status), instead of a log line for each."""
    _failures.reported_at_exit = True


def broker_resting() -> bool:
    """Whether a publish now is counted as failed without trying the broker (it failed less
    than :data:`BROKER_DOWN_SECONDS` ago); it is counted if so."""
    if time.monotonic() < _failures.down_until:
        _failures.count += 1
        return True
    return False


def publish_failed(reason: str) -> None:
    """Count a failed publish, and rest the broker for :data:`BROKER_DOWN_SECONDS`."""
    _failures.count += 1
    _failures.last = reason
    _failures.down_until = time.monotonic() + BROKER_DOWN_SECONDS
