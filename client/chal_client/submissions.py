"""``chal submit`` and ``chal submissions``: a prediction file uploaded and, with ``--wait``,
its score waited for (a held status read, :mod:`.waiting`) and printed per split, with what a
ladder board shows of it; and the team's submissions to a task as a table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import phases
from .client import ApiError, Client, CliError, UsageError, segment
from .output import OPIS_NOTE, number, percent, shorten, shown, table, when
from .waiting import Watcher

FINAL_STATUSES = ("scored", "failed")
SPLIT_ORDER = ("public", "private", "all")


def cmd_submit(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    """Upload a prediction file; with --wait, wait until it is scored or failed."""
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    client = make_client(args, login=True)
    fields = {"note": args.note} if args.note else {}
    submission = client.upload(f"tasks/{segment(args.task)}/submissions/", file=path, fields=fields)
    if not args.json:
        where = f"{submission['task']}{phases.phase_words(submission)}"
        print(f"Submission {submission['id']} to {where}: {submission['status']}")
    waits = args.wait and submission["status"] not in FINAL_STATUSES
    # Asked while the file is scored, not once the score is there: the scores print at once.
    primary = None
    if not args.json and (waits or submission["status"] == "scored"):
        primary = _primary_metric(client, submission["task"])
    if waits:
        submission = _wait(client, submission, timeout=args.timeout, quiet=args.json)
    if args.json:
        print_json(submission)
    elif submission["status"] == "scored":
        _print_scores(submission, primary=primary)
        phases.withheld_note(submission)
    if submission["status"] == "failed":
        raise CliError(f"submission {submission['id']} failed: {submission['error']}")
    return 0


def _wait(
    client: Client,
    submission: dict[str, Any],
    *,
    timeout: float,
    quiet: bool,
) -> dict[str, Any]:
    """Wait until ``submissions/<id>/`` has a final status or ``timeout`` passes: each read
    is held by the server until the status changes (a line says each new status), and
    polled (0.5 s, growing to 3 s) where the server does not hold it."""
    pk = submission["id"]
    deadline = time.monotonic() + timeout
    status = submission["status"]
    watcher = Watcher(client, f"submissions/{pk}/")
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CliError(
                f"submission {pk} is still {status} after {timeout:g} s; "
                f"check later with `chal submissions --task {submission['task']}`"
            )
        fresh = watcher.next(remaining)
        if fresh is None:
            continue
        submission = fresh
        if submission["status"] != status:
            status = submission["status"]
            if not quiet:
                print(f"Submission {pk}: {status}")
        if status in FINAL_STATUSES:
            return submission


METRIC_ORDER = [
    "accuracy",
    "macro_f1",
    "log_loss",
    "f1",
    "precision",
    "recall",
    "average_precision",
    "opis",
    "nfr",
    "pfr",
    "pairwise_f1",
    "pairwise_precision",
    "pairwise_recall",
    "bcubed_f1",
    "rmse",
    "mae",
    "r2",
]
PRIMARY_MARK = " (primary)"


def _primary_metric(client: Client, task: str) -> str | None:
    """The task's primary metric (None when the task cannot be read: nothing is marked)."""
    try:
        return client.get(f"tasks/{segment(task)}/").get("primary_metric") or None
    except ApiError:
        return None


def _print_scores(submission: dict[str, Any], *, primary: str | None = None) -> None:
    """The scores per split: the task's ``primary`` metric first, marked, then the others in
    a fixed order; with a line naming the primary metric's public score and direction."""
    scores: dict[str, dict[str, float | None]] = submission.get("scores") or {}
    splits = [s for s in SPLIT_ORDER if s in scores] + [s for s in scores if s not in SPLIT_ORDER]
    metrics: list[str] = []
    for split in splits:
        metrics.extend(m for m in scores[split] if m not in metrics)
    # The server's JSON keeps no key order (PostgreSQL's jsonb sorts keys): use a fixed one.
    metrics.sort(
        key=lambda m: (
            m != primary,
            METRIC_ORDER.index(m) if m in METRIC_ORDER else len(METRIC_ORDER),
            m,
        )
    )
    if not splits or not any(scores[split] for split in splits):
        # An entry that did not climb on a ladder board has no score to show: say that,
        # not "no scores yet" (it is scored).
        if not _print_ladder(submission):
            print("No scores are visible yet.")
        return
    if primary in metrics:
        direction = ((submission.get("metrics") or {}).get(primary) or {}).get("direction")
        value = number((scores.get(splits[0]) or {}).get(primary))
        better = f"; {direction} is better" if direction in ("higher", "lower") else ""
        print(f"{splits[0].capitalize()} {primary}: {value} (the primary metric{better})")
    headers = [m + PRIMARY_MARK if m == primary else m for m in metrics]
    rows = [[split, *(scores[split].get(m) for m in metrics)] for split in splits]
    print(table(["split", *headers], rows))
    _print_ladder(submission)
    if "opis" in metrics:
        print(OPIS_NOTE)


def _print_ladder(submission: dict[str, Any]) -> bool:
    """The entry's step on its team's ladder (docs/organizers/ladder.md), on a ladder board;
    whether a line was printed."""
    if submission.get("status") != "scored" or submission.get("board_mode", "plain") == "plain":
        return False
    if submission["climbed"]:
        print(f"Climbed: the team's shown public score is {shown(submission['shown_score'])}.")
        return True
    if submission.get("team_shown_score") is not None:
        print(
            "Not better than the team's shown public score "
            f"({shown(submission['team_shown_score'])}) by a significant margin: it stays."
        )
        return True
    return False


def cmd_submissions(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    """The caller's team's submissions, newest first."""
    client = make_client(args, login=True)
    items = client.get_all("submissions/", task=args.task)
    if args.json:
        print_json(items)
        return 0
    if not items:
        print("No submissions yet.")
        return 0
    primary = {t["slug"]: t["primary_metric"] for t in client.get_all("tasks/")}
    rows = []
    for s in items:
        public = (s.get("scores") or {}).get("public") or {}
        metric = primary.get(s["task"]) or next(iter(public), None)
        rows.append(
            [
                s["id"],
                s["task"],
                s["status"],
                _as_shown(public.get(metric) if metric else None, s),
                percent(s.get("nfr")),
                _as_shown(s.get("shown_score"), s),
                climbed_text(s),
                when(s.get("created_at")),
                shorten(s.get("error") if s["status"] == "failed" else s.get("note")),
            ]
        )
    headers = [
        "id", "task", "status", "public score", "NFR", "shown", "climbed", "created (UTC)",
        "note / error",
    ]  # fmt: skip
    print(table(headers, rows))
    return 0


def climbed_text(submission: dict[str, Any]) -> str:
    """Whether a scored entry moved its team's shown public score (docs/organizers/ladder.md):
    "yes", or "no" with the shown score it did not beat by a significant margin."""
    if submission.get("status") != "scored" or "climbed" not in submission:
        return ""
    if submission["climbed"]:
        return "yes"
    team = submission.get("team_shown_score")
    if team is None:
        return "no"
    laddered = submission.get("board_mode", "plain") != "plain"
    return f"no (shown {shown(team) if laddered else number(team)})"


def _as_shown(value: object, submission: dict[str, Any]) -> object:
    """The public score column: on a ladder board a shown score with the decimals it has
    (0.62, not 0.6200); on a plain board the exact score as every score."""
    laddered = submission.get("board_mode", "plain") != "plain"
    if laddered and value is not None and value == submission.get("shown_score"):
        return shown(value)
    return value


