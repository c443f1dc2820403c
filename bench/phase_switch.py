"""Phases switching during a bench's load (docs/decisions/0066-phases.md): the many-hosts run
(bench/multihost.py) and the chaos run (bench/chaos.py) take ``--phases``.

Before the load, an organizer (a staff account made for the run, :data:`ORGANIZER_SCRIPT`)
turns the load's challenge into two phases through the API, as an organizer would: the one
phase becomes ``dev``, ending halfway to the challenge's end, and a live ``final`` phase
follows it to the end. During the load :meth:`PhaseSwitch.switch` moves the switch to a few
seconds ahead (``PATCH phases/<id>/``: the development phase's end first, then the final
phase's start, so they never overlap; retried through faults). After the load
:func:`phase_verdict` checks, on the database's rows, that every accepted submission landed
in the phase open at its arrival: ``dev`` before the switch, ``final`` after, and none
without a phase or moved to another by the date edits. Pure Python and ``requests``: the
callers run it against their cluster's balancer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests

# Run with ``manage.py shell -c``: a staff account and its API token, printed last.
ORGANIZER_SCRIPT = """
from django.contrib.auth import get_user_model
from challenges.tokens import api_token_create
user, _ = get_user_model().objects.get_or_create(username="bench-organizer",
                                                 defaults={"is_staff": True})
type(user).objects.filter(pk=user.pk).update(is_staff=True)
print(api_token_create(user=user)[1])
"""

# The SQL of :func:`phase_verdict`'s rows: each submission's id, arrival (epoch seconds)
# and phase slug (null: none).
PHASE_ROWS_SQL = (
    "SELECT s.id, extract(epoch FROM s.created_at), p.slug FROM scoring_submission s "
    "LEFT JOIN challenges_phase p ON p.id = s.phase_id"
)
AHEAD = 15.0  # seconds between the switch's edit and the moment it takes effect
# An upload's phase is chosen as it is checked, its arrival written as its row is inserted,
# a moment later: within this many seconds of the switch either phase is the open one.
SLACK = 2.0
ATTEMPTS = 60  # an edit retried this many times (a second apart) through a fault


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class PhaseSwitch:
    """The two phases of the load's challenge, made and switched through the API."""

    base: str  # the site's address (the balancer)
    token: str  # the organizer's API token
    challenge: str  # the challenge's slug
    dev_id: int | None = None
    final_id: int | None = None
    switched_at: float | None = None  # epoch seconds: when the final phase opened

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        """One API call, retried while the cluster is under a fault; the answer's JSON."""
        last = ""
        for _ in range(ATTEMPTS):
            try:
                answer = requests.request(
                    method,
                    f"{self.base}/api/v1/{path}",
                    json=body,
                    headers={"Authorization": f"Token {self.token}"},
                    timeout=15,
                )
            except requests.RequestException as exc:
                last = str(exc)
            else:
                if answer.status_code < 300:
                    return answer.json()
                last = f"{answer.status_code} {answer.text[:200]}"
                if answer.status_code < 500 and answer.status_code not in (408, 429):
                    break  # refused: trying again would be refused again
            time.sleep(1.0)
        raise SystemExit(f"phases: {method} {path} failed: {last}")

    def prepare(self, *, now: datetime | None = None) -> None:
        """The challenge's one phase becomes ``dev`` up to halfway to its end; a live
        ``final`` phase follows to the end."""
        now = now or datetime.now(UTC)
        phases = self._call("GET", f"challenges/{self.challenge}/phases/")
        if len(phases) != 1:
            raise SystemExit(f"phases: the load's challenge has {len(phases)} phases, not one")
        end = datetime.fromisoformat(phases[0]["end"].replace("Z", "+00:00"))
        middle = now + (end - now) / 2
        self.dev_id = phases[0]["id"]
        self._call(
            "PATCH",
            f"phases/{self.dev_id}/",
            {"slug": "dev", "title": "Development", "end": _iso(middle), "final": False,
             "reason": "bench: a development phase, then a final phase"},
        )  # fmt: skip
        final = self._call(
            "POST",
            f"challenges/{self.challenge}/phases/",
            {"slug": "final", "title": "Final", "start": _iso(middle), "end": _iso(end),
             "feedback": "live", "final": True,
             "reason": "bench: a development phase, then a final phase"},
        )  # fmt: skip
        self.final_id = final["id"]

    def switch(self, *, ahead: float = AHEAD) -> float:
        """Move the switch to ``ahead`` seconds from now: the development phase ends then,
        the final phase starts then. Returns the switch's time (epoch seconds)."""
        moment = datetime.now(UTC) + timedelta(seconds=ahead)
        reason = "bench: the final phase opens during the load"
        self._call("PATCH", f"phases/{self.dev_id}/", {"end": _iso(moment), "reason": reason})
        self._call("PATCH", f"phases/{self.final_id}/", {"start": _iso(moment), "reason": reason})
        self.switched_at = moment.timestamp()
        return self.switched_at


def phase_verdict(
    rows: Iterable[tuple], *, accepted: Iterable[int], switched_at: float | None
) -> tuple[bool, str, list[str]]:
    """Whether every accepted submission landed in the phase open at its arrival: rows of
    :data:`PHASE_ROWS_SQL`; ``accepted``: the ids the load was given; ``switched_at``: when
    the final phase opened (None: the switch never happened, a failure). Returns ``(ok,
    summary, the rows it failed on)``."""
    if switched_at is None:
        return False, "the phases never switched during the load", []
    by_id = {int(row[0]): (float(row[1]), row[2]) for row in rows}
    wrong: list[str] = []
    counts = {"dev": 0, "final": 0}
    for pk in sorted(set(accepted)):
        if pk not in by_id:
            wrong.append(f"submission {pk}: accepted, not in the database")
            continue
        arrived, slug = by_id[pk]
        expected = "dev" if arrived < switched_at else "final"
        if abs(arrived - switched_at) <= SLACK and slug in counts:
            expected = slug
        if slug != expected:
            wrong.append(
                f"submission {pk}: arrived {arrived - switched_at:+.1f} s from the switch, "
                f"phase {slug!r}, expected {expected!r}"
            )
        else:
            counts[expected] += 1
    summary = (
        f"{counts['dev']} in dev before the switch, {counts['final']} in final after it"
        + (f", {len(wrong)} wrong" if wrong else "")
    )
    if not counts["dev"] or not counts["final"]:
        wrong.append("the load did not reach both phases (the switch came too early or late)")
    return not wrong, summary, wrong


def switch_when(done: Callable[[], bool], phases: PhaseSwitch | None) -> None:
    """Switch ``phases`` once ``done()`` says so (a mark of the load reached); nothing
    without phases or once switched."""
    if phases is not None and phases.switched_at is None and done():
        phases.switch()
