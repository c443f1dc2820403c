"""``manage.py benchmark_health``: has the benchmark settled? (docs/architecture.md, "Settled")

Prints every champion, board cell, robustness cell, stress run, reproduction and queued or
running job that is not final, with its state, its age and the bound it should meet
(``operations.settled``), then one line saying whether everything is settled. Exits 0 when
everything is final or within its bound, 1 when something is past its bound. ``--json``
prints the same as one JSON object (``settled``, ``moving``, ``over``, ``counts``, ``items``).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from operations.settled import BenchmarkHealth, Unsettled, benchmark_health


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _line(item: Unsettled) -> str:
    flag = "OVER" if item.over else "ok"
    return (
        f"{flag:<4} {item.what:<12} {item.name}: {item.state}, {_duration(item.age_seconds)}"
        f" old, bound {_duration(item.bound_seconds)} ({item.bound_reason})"
    )


def summary(health: BenchmarkHealth) -> str:
    """The last line: settled, or how much moves and how much is past its bound."""
    if health.settled:
        return "settled: everything is final"
    counts = ", ".join(f"{n} {what}" for what, n in health.counts().items() if n)
    over = len(health.over)
    state = f"{over} past its bound" if over else "all within their bounds"
    return f"not settled: {len(health.items)} moving ({counts}); {state}"


class Command(BaseCommand):
    help = (
        "List everything of the benchmark that is not final (champions, board cells, "
        "robustness, stress runs, reproductions, jobs) with its state, age and bound; exit 1 "
        "when something is past its bound."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **opts) -> None:
        health = benchmark_health()
        if opts["json"]:
            self.stdout.write(json.dumps(health.as_json(), indent=2))
        else:
            for item in health.items:
                self.stdout.write(_line(item))
            self.stdout.write(summary(health))
        if health.over:
            raise SystemExit(1)
