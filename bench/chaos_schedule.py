"""The chaos run's fault schedule (bench/chaos.py): which fault, on which host, when, for how
long. A pure function of the seed, so the same seed gives the same schedule on any machine.

The gaps between two faults' starts are drawn log-uniformly in ``[GAP_MIN, GAP_MAX]`` seconds
(10-60 s; a mean of 28 s, so a 30-minute run meets about 64 faults), whatever the previous
fault's state: faults overlap whenever one lasts longer than the next gap. The kinds are
dealt like cards: every kind once, in a seeded order, then every kind again, so a run of
``n`` faults has each kind about ``n / len(kinds)`` times and a short run still sees many.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

GAP_MIN, GAP_MAX = 10.0, 60.0
WARM_UP = 20.0  # seconds of load before the first fault

SCORING_HOSTS = ("worker1", "worker2")
WEB_HOSTS = ("web1", "web2")
# Hosts whose DATA_DIR is a small filesystem of the run's own (filled for ENOSPC).
FILLABLE_HOSTS = ("worker1", "worker2", "jobs")

# Each kind: what it does (the report's first column), in the order the tables print.
KINDS = {
    "worker_kill": "a scoring worker host killed (SIGKILL), restarted later",
    "algorithms_kill": "the algorithms worker killed mid-run with its sandboxes (SIGKILL)",
    "beat_kill": "the beat killed (SIGKILL), restarted later",
    "web_kill": "a web host killed (SIGKILL) behind the balancer, back later",
    "broker_empty": "the broker restarted empty (its data lost)",
    "broker_aof": "the broker killed and restarted from its append-only file",
    "db_restart": "PostgreSQL restarted (pg_ctl restart -m fast)",
    "db_connections": "PostgreSQL's connections killed (pg_terminate_backend)",
    "link_broker": "a worker host's link to the broker down",
    "link_db": "a worker host's link to the database down",
    "disk_full": "a worker's data folder filled to ENOSPC",
}
LINK_SECONDS = (5.0, 30.0)
WEB_DOWN_SECONDS = (5.0, 30.0)
DISK_FULL_SECONDS = 20.0
RESTART_AFTER = (2.0, 8.0)  # a killed process's supervisor (docker's restart policy) restarts it


@dataclass(frozen=True)
class Planned:
    """One fault of the schedule: ``at`` seconds after the load began."""

    n: int
    at: float
    kind: str
    host: str
    seconds: float  # how long it lasts (a cut, a full disk, a host down) or until a restart

    def as_dict(self) -> dict:
        return asdict(self)


def target(kind: str, rng: random.Random) -> tuple[str, float]:
    """The host a fault of ``kind`` hits and how long it lasts."""
    if kind == "worker_kill":
        return rng.choice(SCORING_HOSTS), rng.uniform(*RESTART_AFTER)
    if kind == "algorithms_kill":
        return "jobs", rng.uniform(*RESTART_AFTER)
    if kind == "beat_kill":
        return "beat", rng.uniform(*RESTART_AFTER)
    if kind == "web_kill":
        return rng.choice(WEB_HOSTS), rng.uniform(*WEB_DOWN_SECONDS)
    if kind in ("broker_empty", "broker_aof"):
        return "redis", 0.0
    if kind in ("db_restart", "db_connections"):
        return "db", 0.0
    if kind in ("link_broker", "link_db"):
        return rng.choice((*SCORING_HOSTS, "jobs")), rng.uniform(*LINK_SECONDS)
    if kind == "disk_full":
        return rng.choice(FILLABLE_HOSTS), DISK_FULL_SECONDS
    raise ValueError(f"unknown fault kind {kind!r}")


def fault_schedule(*, seed: int, seconds: float, kinds: list[str] | None = None) -> list[Planned]:
    """The faults of a run of ``seconds`` of load, from ``seed`` alone."""
    kinds = list(kinds or KINDS)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown fault kinds: {', '.join(unknown)}")
    rng = random.Random(seed)
    plan: list[Planned] = []
    deck: list[str] = []
    at = WARM_UP
    while at < seconds:
        if not deck:
            deck = list(kinds)
            rng.shuffle(deck)
        kind = deck.pop()
        host, lasts = target(kind, rng)
        plan.append(Planned(len(plan) + 1, round(at, 2), kind, host, round(lasts, 2)))
        at += math.exp(rng.uniform(math.log(GAP_MIN), math.log(GAP_MAX)))
    return plan


def overlapping(plan: list[Planned]) -> int:
    """How many faults begin while an earlier one still lasts (a restart's wait counts)."""
    ends: list[float] = []
    count = 0
    for fault in plan:
        if any(end > fault.at for end in ends):
            count += 1
        ends.append(fault.at + max(fault.seconds, 1.0))
    return count
