"""Writes for leaderboards: entries are maintained when a submission is scored (STYLE: services).

Pages and the API only read `LeaderboardEntry` rows, so their cost does not grow with the
number of submissions.
"""

from __future__ import annotations

import logging

import numpy as np
from django.core.cache import cache
from django.db import transaction

from challenge_platform import jobs
from datasets.models import Task
from datasets.selectors import task_get
from leaderboard.core.bootstrap import KINDS as BOOTSTRAP_KINDS
from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.core.ranking import (
    SubmissionInput,
    private_entries,
    rank_entries,
    select_team_best,
)
from scoring.core import load_predictions
from scoring.models import Submission, SubmissionStatus
from scoring.solutions import solution_for_task

from . import cache as board_cache
from . import coalesce
from .models import LeaderboardEntry, Split
from .references import FLIP_FIELDS, entry_flips_fill, references_sync

logger = logging.getLogger(__name__)

BOOTSTRAP_TASK = "leaderboard.tasks.bootstrap_task_leaderboard"


def history_cache_key(task_id: int) -> str:
    return f"leaderboard:history:{task_id}"


def submission_inputs(
    *, task: Task, post_challenge: bool = False
) -> tuple[list[SubmissionInput], dict[int, Submission]]:
    """What a board of ``task`` ranks: scored submissions, not hidden, of visible teams.

    The challenge's boards (and its final standings) take those made before the end;
    ``post_challenge=True`` takes those made after, for the post-challenge board.
    """
    end = task.track.challenge.end
    when = {"created_at__gte": end} if post_challenge else {"created_at__lt": end}
    rows = (
        Submission.objects.filter(
            task=task,
            status=SubmissionStatus.SCORED,
            is_hidden=False,
            team__is_hidden=False,
            **when,
        )
        .select_related("team")
        .only(
            "id",
            "team_id",
            "team__is_baseline",
            "team__name",
            "created_at",
            "public_score",
            "private_score",
            "is_final",
            "scores",
        )
    )
    by_id = {s.id: s for s in rows}
    inputs = [
        SubmissionInput(
            id=s.id,
            team_id=s.team_id,
            is_baseline=s.team.is_baseline,
            submitted_at=s.created_at,
            public_score=s.public_score,
            private_score=s.private_score,
            is_final=s.is_final,
        )
        for s in by_id.values()
    ]
    return inputs, by_id


@transaction.atomic
def task_leaderboard_refresh(*, task_id: int, bootstrap: bool = True) -> None:
    """Rebuild the public and private entries of one task from its scored submissions.

    Refreshes of one task take turns (a lock on the task's row, taken before reading the
    submissions): two workers finishing scorings at once otherwise both replaced the entries,
    and the second insert broke the one-entry-per-team constraint, leaving the board without
    the later score until the next refresh. The lock is FOR NO KEY UPDATE: a plain FOR UPDATE
    also blocks the foreign-key checks of uploads committing a submission of the task, which
    deadlocked with the upload's lock on its team.
    """
    task = (
        Task.objects.select_for_update(no_key=True, of=("self",))
        .select_related("track__challenge")
        .get(pk=task_id)
    )
    challenge = task.track.challenge
    inputs, by_id = submission_inputs(task=task)
    # A team's count and last time are of the submissions the board ranks (scored, not
    # hidden, before the end): queued or failed ones are not results. Every outcome that
    # changes them (a score, a hide or restore, a rescore) calls this refresh.
    counts: dict[int, tuple[int, object]] = {}
    for s in inputs:
        n, last = counts.get(s.team_id, (0, None))
        counts[s.team_id] = (n + 1, max(last, s.submitted_at) if last else s.submitted_at)

    boards = {
        Split.PUBLIC: rank_entries(select_team_best(inputs, split="public")),
        Split.PRIVATE: rank_entries(
            private_entries(inputs, max_final=challenge.max_final_selections)
        ),
    }
    # Plain values (no model instances for the 600 rows of a 300-team board; only the rows
    # written become entries).
    new_rows = []
    for split, ranked in boards.items():
        for r in ranked:
            sub = by_id[r.entry.payload.id]
            n, last = counts.get(sub.team_id, (0, None))
            new_rows.append(
                {
                    **UNSCORED_FIELDS,
                    "task_id": task.pk,
                    "team_id": sub.team_id,
                    "split": split,
                    "submission_id": sub.pk,
                    "score": r.entry.score,
                    "metrics": (sub.scores or {}).get(split, {}),
                    "rank": r.rank,
                    "position": r.position,
                    "is_baseline": r.entry.is_baseline,
                    "submission_count": n,
                    "last_submission_at": last,
                    "best_submitted_at": sub.created_at,
                }
            )
    with transaction.atomic():
        current = {
            (e["team_id"], e["split"]): e
            for e in LeaderboardEntry.objects.filter(task=task).values("id", *ENTRY_FIELDS)
        }
        # Write only the rows that changed: a score moves one team and shifts a few others,
        # while rewriting the whole board (600 rows for 300 teams) took most of a scoring's
        # time in the deadline rush.
        replaced, written, track_changed = [], [], False
        for row in new_rows:
            old = current.pop((row["team_id"], row["split"]), None)
            if old is not None and old["submission_id"] == row["submission_id"]:
                # Keep computed intervals for entries whose submission did not change.
                row.update({name: old[name] for name in UNSCORED_FIELDS})
                if _same(old, row, ENTRY_FIELDS):
                    continue
            if old is not None:
                replaced.append(old["id"])
            written.append(LeaderboardEntry(**row))
            track_changed = track_changed or old is None or not _same(old, row, TRACK_FIELDS)
        replaced += [e["id"] for e in current.values()]  # teams no longer on the board
        track_changed = track_changed or bool(current)
        if replaced:
            LeaderboardEntry.objects.filter(pk__in=replaced).delete()
        LeaderboardEntry.objects.bulk_create(written)
        if bootstrap and new_rows:
            transaction.on_commit(lambda: _publish_bootstrap(BOOTSTRAP_TASK, task.pk))
        # The track's board reads only TRACK_FIELDS of these rows: a score that changes none
        # of them (a team's count, a worse try) leaves it, and its cache, as it was.
        board_cache.bump_after_commit(
            task_id=task.pk, track_id=task.track_id if track_changed else None
        )
    try:
        cache.delete(history_cache_key(task.pk))
    except board_cache.UNAVAILABLE:  # the entries above must not roll back for a cache
        logger.warning("the history chart of task %s was not invalidated", task.pk)


# Every stored field of an entry but its id; and those the track's board reads
# (``selectors.leaderboard_for_track``: its scores, ranks, tie-break, baselines, prize NFR).
ENTRY_FIELDS = tuple(f.attname for f in LeaderboardEntry._meta.concrete_fields if not f.primary_key)
TRACK_FIELDS = ("team_id", "score", "rank", "is_baseline", "best_submitted_at", "nfr")


# What the bootstrap job computes later; kept from the old entry while its submission stays.
UNSCORED_FIELDS = {
    "score_low": None,
    "score_high": None,
    "rank_low": None,
    "rank_high": None,
    "tied_with_best": False,
    **{name: None for name in FLIP_FIELDS},
}


def _same(old: dict, new: dict, fields: tuple[str, ...]) -> bool:
    return all(old[name] == new[name] for name in fields)


def _publish_bootstrap(task_name: str, task_id: int) -> None:
    """Ask for new intervals, coalesced per task (at most one job queued and one running).
    The broker is a doorbell: a lost message's intervals come with the next refresh."""
    coalesce.request(task_id, lambda countdown: jobs.publish(task_name, task_id=task_id))


def leaderboard_bootstrap_run(*, task_id: int) -> int:
    """The bootstrap job: compute unless a run of the same task is under way (it will
    re-run) or nothing changed since the last one; returns the computations made."""
    return coalesce.run(
        task_id,
        lambda: leaderboard_bootstrap_compute(task_id=task_id),
        lambda countdown: jobs.publish(BOOTSTRAP_TASK, countdown=countdown, task_id=task_id),
    )


def leaderboard_bootstrap_compute(*, task_id: int, n_resamples: int = 1000, seed: int = 0) -> None:
    """Compute score/rank intervals and the group tied with #1 for both splits of a task."""
    task = task_get(pk=task_id)
    primary = references_sync(task=task)
    if task.kind not in BOOTSTRAP_KINDS:
        return
    entries = list(LeaderboardEntry.objects.filter(task=task).select_related("submission"))
    if not entries:
        return
    solution = solution_for_task(task)
    y = np.asarray(solution.y)
    public = np.asarray(solution.is_public, dtype=bool)
    updates = []
    for split, mask in ((Split.PUBLIC, public), (Split.PRIVATE, ~public)):
        board = [e for e in entries if e.split == split]
        preds, kept = [], []
        for e in board:
            if not e.submission.predictions:
                continue
            with e.submission.predictions.open("rb") as fh:
                preds.append(np.asarray(load_predictions(fh.read()).pred))
            kept.append(e)
        if not kept or not mask.any():
            continue
        result = bootstrap_leaderboard(
            y=y,
            preds=preds,
            kind=task.kind,
            n_resamples=n_resamples,
            seed=seed,
            rows=mask,
            is_baseline=[e.is_baseline for e in kept],
        )
        for e, interval in zip(kept, result.entries, strict=True):
            e.score_low, e.score_high = interval.score_low, interval.score_high
            e.rank_low, e.rank_high = interval.rank_low, interval.rank_high
            e.tied_with_best = interval.tied_with_best
            updates.append(e)
        entry_flips_fill(kept, y=y, preds=preds, reference=primary, rows=mask, seed=seed)
    with transaction.atomic():
        current = set(LeaderboardEntry.objects.filter(task=task).values_list("id", "submission_id"))
        fresh = [e for e in updates if (e.id, e.submission_id) in current]
        LeaderboardEntry.objects.bulk_update(
            fresh,
            ["score_low", "score_high", "rank_low", "rank_high", "tied_with_best", *FLIP_FIELDS],
        )
        board_cache.bump_after_commit(task_id=task.pk, track_id=task.track_id)
