"""The publishes this process could not make (the broker refused or was unreachable).

:func:`jobs.lifecycle.publish` counts them here and keeps them (:data:`UNSENT_AT_MOST` of
them): the row stays queued, and the next publish of this process that reaches the broker
sends them right after its own. An upload made while the broker's link was cut is scored as
soon as the link is back, not when the beat's republish (:mod:`jobs.republish`) finds its
row without a message, up to ``JOB_REPUBLISH_SECONDS`` later; the beat still finds those of
a process that publishes nothing more. A ``manage.py`` command reports them
itself when it ends (one line and a non-zero status) instead of a log line for each. After a
failed publish the broker is not tried again for a moment (:mod:`jobs.redis_rest`, the one
rest of a Redis address in a process).

Apart from :mod:`jobs.lifecycle`, which imports the job models: ``manage.py`` reads this
before Django is set up, when no model may be imported yet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

# The failed publishes a process keeps to send again, the oldest dropped first beyond this
# (their rows are published again by the beat's republish).
UNSENT_AT_MOST = 1000
# The failed publishes one successful publish sends after its own (the request or task that
# made it waits for them): the others go with the next ones.
UNSENT_PER_PUBLISH = 100

# A publish to make again: the task's name, its countdown, urgent or not, its keywords.
Unsent = tuple[str, float | None, bool, dict[str, Any]]


@dataclass
class PublishFailures:
    """The publishes this process could not make so far, and not made since."""

    count: int = 0
    last: str = ""  # why the last one failed
    reported_at_exit: bool = False
    unsent: deque[Unsent] = field(default_factory=lambda: deque(maxlen=UNSENT_AT_MOST))


_failures = PublishFailures()


def publish_failures() -> PublishFailures:
    """The publishes this process could not make so far."""
    return _failures


def report_publish_failures_at_exit() -> None:
    """This process reports its failed publishes itself, once, when it ends (a ``manage.py``
    command: one line and a non-zero status), instead of a log line for each."""
    _failures.reported_at_exit = True


def publish_failed(*, reason: str, unsent: Unsent) -> None:
    """Count a failed publish and keep it to send again (the broker's rest after it is
    :mod:`jobs.redis_rest`'s)."""
    _failures.count += 1
    _failures.last = reason
    _failures.unsent.append(unsent)


def take_unsent(*, at_most: int = UNSENT_PER_PUBLISH) -> list[Unsent]:
    """Up to ``at_most`` of the failed publishes kept, oldest first, taken out (each thread
    takes its own)."""
    taken: list[Unsent] = []
    while len(taken) < at_most:
        try:
            taken.append(_failures.unsent.popleft())
        except IndexError:
            break
    return taken


def sent_again(*, count: int) -> None:
    """``count`` publishes taken by :func:`take_unsent` were made: no longer failed."""
    _failures.count = max(_failures.count - count, 0)


def keep_unsent(*, unsent: list[Unsent]) -> None:
    """Give back publishes taken by :func:`take_unsent` that could not be made either."""
    _failures.unsent.extendleft(reversed(unsent))
