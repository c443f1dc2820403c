"""How ``chal`` prints robustness (the server's docs/organizers/stress.md): a column of the task
leaderboard, a line after a run, and ``chal algorithm show-run RUN`` with a table per family.

The server sends ``robustness: {"families": {name: {"score", "ratio", "flip_rate", ...}},
"mean_ratio", "worst_family", "split", ...}`` on runs and board entries (null for a
prediction file: only a method the platform runs meets the perturbed copies)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .client import Client
from .output import DASH, percent, table

NEEDS_ALGORITHM = "needs an algorithm"


def _ratio(value: object) -> str:
    return (
        f"{value:.2f}" if isinstance(value, int | float) and not isinstance(value, bool) else DASH
    )


def robustness_cell(entry: dict[str, Any]) -> str:
    """A board entry's robustness: ``0.93 (worst: typos)``, pending, failed, or needs an
    algorithm."""
    robustness = entry.get("robustness")
    if robustness:
        worst = robustness.get("worst_family")
        return _ratio(robustness.get("mean_ratio")) + (f" (worst: {worst})" if worst else "")
    state = entry.get("robustness_state")
    if state in ("pending", "failed"):  # failed: final, its reason in robustness_reason
        return state
    if state == "needs_algorithm" and entry.get("team_id") is not None:
        return NEEDS_ALGORITHM
    return DASH


def shows_robustness(entries: list[dict[str, Any]]) -> bool:
    """Whether a board has the column: some entry's method met the copies or is to."""
    return any(
        e.get("robustness") or e.get("robustness_state") in ("pending", "failed") for e in entries
    )


def robustness_line(run: dict[str, Any]) -> str:
    """``, robustness 0.93 (worst typos 0.71)`` after a run's line; empty without one."""
    robustness = run.get("robustness")
    if not robustness:
        return ""
    worst = robustness.get("worst_family")
    text = f", robustness {_ratio(robustness.get('mean_ratio'))}"
    if worst:
        ratio = ((robustness.get("families") or {}).get(worst) or {}).get("ratio")
        text += f" (worst {worst} {_ratio(ratio)})"
    return text


def robustness_table(robustness: dict[str, Any]) -> str:
    """One row per family: score on the copies, clean score, ratio, flip rate, copies."""
    rows = [
        [
            name,
            f.get("score"),
            f.get("clean"),
            f.get("ratio"),
            percent(f.get("flip_rate")) if f.get("flip_rate") is not None else DASH,
            f.get("rows"),
        ]
        for name, f in (robustness.get("families") or {}).items()
    ]
    return table(["family", "score on copies", "clean score", "ratio", "flip rate", "copies"], rows)


def cmd_show_run(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    """``chal algorithm show-run RUN``: a run's status, use and robustness per family."""
    client = make_client(args, login=True)
    run = client.get(f"algorithm-runs/{int(args.run)}/")
    if args.json:
        print_json(run)
        return 0
    print(
        f"Run {run['id']}: algorithm {run['algorithm']} v{run['version']} on {run['task']}"
        f" ({run.get('profile', 'team')}): {run['status']}"
    )
    if run.get("error"):
        print(f"  error: {' '.join(str(run['error']).split())[:300]}")
    robustness = run.get("robustness")
    if not robustness:
        print("Robustness: none yet (its stress run has not finished, or the task has none).")
        return 0
    worst = robustness.get("worst_family")
    print(
        f"Robustness (stress run {robustness.get('run')}, copies of {robustness.get('split')}"
        f" rows): mean ratio {_ratio(robustness.get('mean_ratio'))}"
        + (f", worst family {worst}" if worst else "")
    )
    print(robustness_table(robustness))
    for name, why in (robustness.get("skipped") or {}).items():
        print(f"  {name}: skipped ({why})")
    return 0


def add_show_run(
    actions: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    p = actions.add_parser(
        "show-run",
        parents=[common, as_json],
        help="show a run: its status and robustness per stress family",
    )
    p.add_argument("run", type=int, metavar="RUN", help="the run's id")
    p.set_defaults(handler=handler)
