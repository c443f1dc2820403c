"""``chal phases <challenge>``: a challenge's phases, what is open now and until when; and
how ``chal submit`` names the phase an entry went to (docs/participants/phases.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .client import Client, segment


def _when(text: str | None) -> str:
    if not text:
        return "?"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def phase_lines(phases: list[dict[str, Any]]) -> list[str]:
    """One line per phase, the current one first and starred."""
    width = max((len(p["slug"]) for p in phases), default=4)
    title = max((len(p["title"]) for p in phases), default=5)
    lines = []
    for phase in phases:
        marks = [phase["feedback"]]
        if phase.get("final"):
            marks.append("final")
        if phase.get("current"):
            marks.append("(current)")
        lines.append(
            f"{'*' if phase.get('current') else ' '} {phase['slug']:<{width}}  "
            f"{phase['title']:<{title}}  {_when(phase['start'])} → {_when(phase['end'])} UTC  "
            + "  ".join(marks)
        )
    return lines


def cmd_phases(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    client = make_client(args)
    phases = client.get(f"challenges/{segment(args.challenge)}/phases/")
    if args.json:
        print_json(phases)
        return 0
    for line in phase_lines(phases):
        print(line)
    current = next((p for p in phases if p.get("current")), None)
    if current is not None and current["feedback"] == "blind":
        print(
            f"\n{current['title']} is blind: entries are scored, and their scores are shown "
            "once the organizers reveal the results."
        )
    return 0


def phase_words(submission: dict[str, Any]) -> str:
    """`` in phase <slug>`` for ``chal submit``'s line: "" after the end (no phase) and for
    the one phase, ``main``, of a challenge that was never divided (it reads as before)."""
    phase = submission.get("phase")
    return f" in phase {phase}" if phase and phase != "main" else ""


def withheld_note(submission: dict[str, Any]) -> None:
    """Print why a scored entry shows no figure (a blind phase), if it does not."""
    reason = submission.get("withheld")
    if reason and not any((submission.get("scores") or {}).values()):
        print(f"Withheld: {reason}")


def add_parser(
    commands: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    make_client: Callable[..., Client],
    print_json: Callable,
) -> None:
    """``chal phases <challenge>``."""
    p = commands.add_parser(
        "phases", parents=[common, as_json], help="a challenge's phases: what is open, until when"
    )
    p.add_argument("challenge", help="the challenge's slug")
    p.set_defaults(
        handler=lambda args: cmd_phases(args, make_client=make_client, print_json=print_json)
    )
