"""``chal leaderboard``: a task's board, else a track's (or a task's post-challenge board),
printed as a table with the columns its entries have."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from . import robustness, standings
from .client import ApiError, Client, CliError, segment
from .output import (
    DASH,
    FIRST_HEADERS,
    OPIS_NOTE,
    first_columns,
    interval,
    pairwise_table,
    percent,
    shown,
    table,
)


def cmd_leaderboard(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    """A task's leaderboard, or else a track's (with --post-challenge: a task's
    post-challenge board)."""
    client = make_client(args)
    if args.post_challenge:
        return standings.post_challenge_board(client, args, print_json=print_json)
    board = _task_or_track_board(client, args)
    if args.json:
        print_json(board)
        return 0
    entries = board.get("entries") or []
    if "task" in board:
        mode = board.get("mode") or "plain"
        shown = "" if mode == "plain" or board["split"] != "public" else f", a {mode} board"
        print(
            f"Task {board['task']}: {board['split']} leaderboard ({board['primary_metric']}"
            f"{shown})"
        )
    else:
        print(f"Track {board['track']}: {board['split']} leaderboard (mean over its tasks)")
    if not entries:
        print("No entries yet.")
        return 0
    rank = [DASH if e["rank"] is None else e["rank"] for e in entries]
    headers, rows = (_task_columns if "task" in board else _track_columns)(board, entries, rank)
    marker = _entry_notes(entries)
    if any(marker):
        headers.append("note")
        rows = [[*row, m] for row, m in zip(rows, marker, strict=True)]
    print(table(headers, rows))
    if "OPIS" in headers:
        print(OPIS_NOTE)
    if "task" not in board and board.get("group_reason"):
        print(f"No rank intervals or groups: {board['group_reason']}.")
    print_tiers(board)
    if getattr(args, "pairwise", False):
        print()
        if "task" in board:
            print("Pairwise comparisons are made on track boards: see the task's track.")
        else:
            print(pairwise_table(board))
    return 0


def _task_or_track_board(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    """The board of the task named ``args.slug``, else of the track of that name."""
    slug = segment(args.slug)
    try:
        return client.get(f"tasks/{slug}/leaderboard/", split=args.split)
    except ApiError as exc:
        if exc.status != 404:
            raise
    try:
        return client.get(f"tracks/{slug}/leaderboard/", split=args.split)
    except ApiError as exc:
        if exc.status == 404:
            raise CliError(f"there is no task or track '{args.slug}'") from exc
        raise


def _entry_notes(entries: list[dict[str, Any]]) -> list[str]:
    """Each entry's note: the team column names a reference already (an upload, the trivial
    baseline); the AutoGluon team's row keeps its "baseline" mark."""
    return [
        ("reference" if e.get("reference") == e["team"] else "baseline")
        + (" (primary)" if e.get("is_primary_reference") else "")
        if e["is_baseline"]
        else ("not prize-eligible" if e.get("prize_eligible") is False else "")
        for e in entries
    ]


def _task_columns(
    board: dict[str, Any], entries: list[dict[str, Any]], rank: list[object]
) -> tuple[list[str], list[list[object]]]:
    """A task board's headers and rows: the score, then the columns its entries have."""
    headers = ["rank", "team", board["primary_metric"]]
    laddered = board.get("mode", "plain") != "plain" and board.get("split") == "public"
    rows = [
        # a team's shown score with the decimals it has (0.62, never 0.6200)
        [r, e["team"], shown(e["score"]) if laddered and e.get("shown_score") is not None
         else e["score"]]
        for r, e in zip(rank, entries, strict=True)
    ]  # fmt: skip
    intervals = [interval(e.get("score_low"), e.get("score_high")) for e in entries]
    columns = _ladder_columns(board, entries)
    if any(intervals):
        columns.append(("95% interval", intervals))
    columns += rank_set_columns(entries)
    if board.get("primary_reference"):
        columns.append(
            (f"NFR vs {board['primary_reference']}", [percent(e.get("nfr")) for e in entries])
        )
    if any(e.get("opis") is not None for e in entries):
        columns.append(("OPIS", [e.get("opis") for e in entries]))
    if robustness.shows_robustness(entries):
        columns.append(("robustness", [robustness.robustness_cell(e) for e in entries]))
    if any(e.get("transitivity_violations") is not None for e in entries):
        columns.append(
            ("transitivity viol.", [percent(e.get("transitivity_violations")) for e in entries])
        )
    if any(e.get("cpu_seconds") is not None for e in entries):
        columns.append(("CPU s", [_cpu(e.get("cpu_seconds")) for e in entries]))
    for header, values in columns:
        headers.append(header)
        rows = [[*row, value] for row, value in zip(rows, values, strict=True)]
    return headers, rows


def _track_columns(
    board: dict[str, Any], entries: list[dict[str, Any]], rank: list[object]
) -> tuple[list[str], list[list[object]]]:
    """A track board's headers and rows: the mean, each task's score, then who is first."""
    tasks = board.get("tasks") or []
    headers = ["rank", "team", "mean", *tasks]
    rows = [
        [r, e["team"], e["score"], *((e.get("task_scores") or {}).get(t) for t in tasks)]
        for r, e in zip(rank, entries, strict=True)
    ]
    if any(e.get("p_first") is not None for e in entries):
        headers += FIRST_HEADERS
        rows = [[*row, *first_columns(e)] for row, e in zip(rows, entries, strict=True)]
    for header, values in rank_set_columns(entries):
        headers.append(header)
        rows = [[*row, value] for row, value in zip(rows, values, strict=True)]
    return headers, rows


def print_tiers(board: dict[str, Any]) -> None:
    """The board's tiers in one line (every team of a tier is better than every team of a
    later one, jointly at 95%), or why a track has none."""
    if board.get("tiers"):
        tiers = " | ".join(f"{n}: {', '.join(t)}" for n, t in enumerate(board["tiers"], start=1))
        print(f"Tiers (joint 95% rank sets; each better than the next): {tiers}")
    elif board.get("rank_set_reason"):
        print(f"No joint rank sets or tiers: {board['rank_set_reason']}.")


def rank_set_columns(entries: list[dict[str, Any]]) -> list[tuple[str, list[object]]]:
    """The joint rank set and the tier (every entry's set holds at once, 95%), when the
    board gives them."""
    if not any(e.get("rank_set") for e in entries):
        return []
    sets = [
        DASH
        if not e.get("rank_set")
        else (
            str(e["rank_set"][0])
            if e["rank_set"][0] == e["rank_set"][1]
            else f"{e['rank_set'][0]}-{e['rank_set'][1]}"
        )
        for e in entries
    ]
    tiers = [DASH if e.get("tier") is None else e["tier"] for e in entries]
    return [("rank set (joint)", sets), ("tier", tiers)]


def _ladder_columns(
    board: dict[str, Any], entries: list[dict[str, Any]]
) -> list[tuple[str, list[object]]]:
    """A ladder board's public split (docs/organizers/ladder.md): the shown score (the score
    column's), whether it climbed, and the exact score when the server gives it (organizers)."""
    if board.get("mode", "plain") == "plain" or board.get("split") != "public":
        return []
    columns: list[tuple[str, list[object]]] = [
        ("shown", [shown(e.get("shown_score")) for e in entries]),
        ("climbed", [_climbed(e.get("climbed")) for e in entries]),
    ]
    if any(e.get("exact_score") is not None for e in entries):
        columns.append(("exact", [e.get("exact_score") for e in entries]))
    return columns


def _climbed(value: object) -> str:
    return DASH if value is None else ("yes" if value else "no")


def _cpu(seconds: object) -> str:
    """CPU-seconds of the run behind an entry (a dash for an uploaded file)."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return f"{seconds:.1f}"
    return DASH
