"""``chal standings <challenge>``: a challenge's frozen final standings, per track; and
``chal leaderboard <task> --post-challenge``: a task's post-challenge board (uploads after
the end, which never enter the standings).

Until the private leaderboard is revealed the server sends the public split's ranks at the
end (``"revealed": false``) and the digest of the sealed private snapshot; from the reveal,
the snapshot itself, whose digest this command checks: SHA-256 of the canonical JSON (keys
sorted, no spaces, UTF-8) of the document without its ``sha256`` key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .client import ApiError, Client, CliError
from .output import DASH, FIRST_HEADERS, first_columns, table, when


def snapshot_sha256(document: dict[str, Any]) -> str:
    """The digest the server publishes, recomputed from the document it sent."""
    body = {key: value for key, value in document.items() if key != "sha256"}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cmd_standings(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    client = make_client(args)
    doc = client.get(f"challenges/{quote(args.challenge, safe='')}/standings/")
    if args.json:
        print_json(doc)
        return 0
    if not doc.get("frozen_at"):
        print(f"Challenge {args.challenge}: the final standings are frozen when it ends.")
        return 0
    revealed = doc.get("revealed", True)  # snapshots frozen before the flag are private
    private = doc.get("split", "private") == "private"
    if private:
        # An organizer reads the private snapshot before the reveal (``revealed: false``);
        # the published text, which the digest covers, says ``revealed: true``.
        if snapshot_sha256({**doc, "revealed": True}) != doc.get("sha256"):
            raise CliError(
                "the standings document does not match its sha256: it was changed after the "
                "freeze or in transit"
            )
        not_yet = "" if revealed else " (not revealed to the participants yet)"
        print(
            f"Challenge {args.challenge}: final standings frozen {doc['frozen_at']} on the "
            f"private split{not_yet}; sha256 {doc['sha256']} (verified)"
        )
    else:
        print(
            f"Challenge {args.challenge}: final standings frozen {doc['frozen_at']}, sealed "
            "until the private leaderboard is revealed. Ranks below are the public split's at "
            f"the end; the sealed results' sha256 is {doc['sha256']}."
        )
    for track in doc.get("tracks") or []:
        print()
        print(f"Track {track['track']} ({doc.get('split', 'private')} split)")
        entries = track.get("entries") or []
        if not entries:
            print("No entries.")
            continue
        rows = [
            [
                DASH if e.get("rank") is None else e["rank"],
                e["team"],
                e.get("score"),
                *first_columns(e),
                "baseline"
                if e.get("is_baseline")
                else ("not prize-eligible" if e.get("prize_eligible") is False else ""),
                (e.get("method") or {}).get("title", ""),
            ]
            for e in entries
        ]
        print(table(["rank", "team", "mean", *FIRST_HEADERS, "note", "method"], rows))
    return 0


def post_challenge_board(
    client: Client, args: argparse.Namespace, *, print_json: Callable
) -> int:
    """Each team's best upload made after the challenge ended, ranked (a task's only)."""
    try:
        board = client.get(f"tasks/{quote(args.slug, safe='')}/post-challenge/", split=args.split)
    except ApiError as exc:
        if exc.status == 404:
            raise CliError(
                f"there is no task '{args.slug}' (post-challenge boards are per task)"
            ) from exc
        raise
    if args.json:
        print_json(board)
        return 0
    print(
        f"Task {board['task']}: post-challenge {board['split']} board ({board['primary_metric']},"
        f" {board['direction']} is better); uploads after the end, never in the standings"
    )
    entries = board.get("entries") or []
    if not entries:
        print("No entries yet.")
        return 0
    rows = [
        [
            DASH if e.get("rank") is None else e["rank"],
            e["team"],
            e.get("score"),
            when(e.get("submitted_at")),
            "baseline" if e.get("is_baseline") else "",
        ]
        for e in entries
    ]
    headers = ["rank", "team", board["primary_metric"], "submitted (UTC)", "note"]
    if not any(row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    print(table(headers, rows))
    return 0


def add_parser(
    commands: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    """``chal standings``."""
    p = commands.add_parser(
        "standings",
        parents=[common, as_json],
        help="a challenge's final standings (public split until the reveal)",
    )
    p.add_argument("challenge", help="the challenge's slug")
    p.set_defaults(handler=handler)
