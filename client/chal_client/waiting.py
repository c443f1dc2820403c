"""Waiting for a job (a submission, an algorithm run) to change: each read held by the
server until the status changes (``?wait=`` and ``If-None-Match``:
docs/decisions/0057-a-status-wait-is-a-held-answer.md), polling where the server does not
hold it."""

from __future__ import annotations

import time
from typing import Any

from .client import Client

# One held status read lasts at most this long (the server holds it until the status
# changes: docs/decisions/0057-a-status-wait-is-a-held-answer.md); then it is asked again.
HOLD_SECONDS = 25.0
# Between reads of a server that did not hold one (an older server, or its waiting places
# all taken): 0.5 s, growing to 3 s, as chal polled before.
POLL_FIRST_SECONDS = 0.5
POLL_MAX_SECONDS = 3.0


class Watcher:
    """Successive reads of one job's status (a submission, an algorithm run), each held by
    the server until the status changes (``Client.watch``), falling back to polling."""

    def __init__(self, client: Client, path: str, *, hold: float = HOLD_SECONDS) -> None:
        self.client = client
        self.path = path
        self.hold = hold
        self.tag: str | None = None
        self.delay = POLL_FIRST_SECONDS
        self.first = True

    def next(self, remaining: float) -> dict[str, Any] | None:
        """The job's JSON once it changed (or at the first read), None when it did not
        within ``remaining`` seconds (or the hold)."""
        seconds = 0.0 if self.first else max(min(self.hold, remaining), 0.0)
        watched = self.client.watch(self.path, tag=self.tag, seconds=seconds)
        held = self.tag is not None and watched.seconds >= seconds / 2
        self.tag = watched.tag
        first, self.first = self.first, False
        if not first and not held and (watched.data is None or watched.tag is None):
            # Not held: poll, as a server that does not hold asks (Retry-After) or as before.
            pause = watched.retry_after if watched.retry_after is not None else self.delay
            time.sleep(max(0.0, min(pause, remaining)))
            self.delay = min(self.delay * 1.5, POLL_MAX_SECONDS)
        return watched.data
