"""The stored board: a task's ``LeaderboardEntry`` rows, computed from its scored submissions
and written where they changed. The second step of a board's refresh
(``leaderboard.refresh``: turns, the stored board, the cache, the prerender), and what the
board's readers and the standings rank (:func:`ranked_submissions`, :func:`submission_inputs`).

Pages and the API only read `LeaderboardEntry` rows, so their cost does not grow with the
number of submissions. Nothing here knows of the board's caches or its listeners: the
refresh tells them once the rows are written (docs/decisions/0076-one-home-for-the-refresh.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from common import board_modes
from datasets.models import Task
from kinds import kind_get, metric_info
from leaderboard.core.ranking import (
    EntryInput,
    RankedEntry,
    SubmissionInput,
    private_entries,
    rank_entries,
)
from runtime.localredis import cache_unavailable_errors
from scoring.models import Submission, SubmissionStatus

from .boards.ladder import public_board
from .boards.phases import board_filter, board_phase_q, final_phase_q
from .boards.references import FLIP_FIELDS
from .models import LeaderboardEntry, Split
from .statistics.rank_set_fields import RANK_SET_FIELDS

logger = logging.getLogger(__name__)


def history_cache_key(*, task_id: int) -> str:
    return f"leaderboard:history:{task_id}"


def ranked_submissions(
    *,
    task: Task,
    post_challenge: bool = False,
    final: bool = False,
    phase: Any = None,
    board_q: Q | None = None,
) -> QuerySet[Submission]:
    """What a board of ``task`` ranks: scored submissions, not hidden, of visible teams.

    The challenge's boards take those made before the end, of the board's phase
    (``leaderboard.boards.phases``; one phase: all); ``final=True`` (the standings) those of
    the final phase; ``phase`` those of that phase (a board read for ``?phase=``);
    ``post_challenge=True`` those made after, for the post-challenge board. ``board_q``: the
    board's filter (:func:`~leaderboard.boards.phases.board_filter`) when the caller has read
    it already.
    """
    challenge = task.track.challenge
    end = challenge.end
    when = {"created_at__gte": end} if post_challenge else {"created_at__lt": end}
    phases = Q()
    if phase is not None:
        phases = Q(phase=phase)
    elif final and not post_challenge:
        phases = final_phase_q(challenge=challenge)
    elif not post_challenge:  # the maintained board's
        phases = board_phase_q(challenge=challenge) if board_q is None else board_q
    return Submission.objects.filter(
        phases,
        task=task,
        status=SubmissionStatus.SCORED,
        is_hidden=False,
        team__is_hidden=False,
        **when,
    )


def submission_inputs(
    *, task: Task, post_challenge: bool = False, final: bool = False
) -> tuple[list[SubmissionInput], dict[int, Submission]]:
    """The ranking core's inputs for :func:`ranked_submissions`, and those submissions (with
    their team) by id."""
    rows = (
        ranked_submissions(task=task, post_challenge=post_challenge, final=final)
        .select_related("team")
        .only(*INPUT_FIELDS, "team__name", "scores")
    )
    by_id = {s.id: s for s in rows}
    higher = task_higher_is_better(task=task)
    inputs = [
        _input(
            higher,
            s.id,
            s.team_id,
            s.team.is_baseline,
            s.created_at,
            s.public_score,
            s.private_score,
            s.is_final,
        )
        for s in by_id.values()
    ]
    return inputs, by_id


def task_higher_is_better(*, task: Task) -> bool:
    """The direction of the task's primary metric (``kinds.metrics``): how its boards rank."""
    return metric_info(task.primary_metric).higher_is_better


INPUT_FIELDS = (
    "id",
    "team_id",
    "team__is_baseline",
    "created_at",
    "public_score",
    "private_score",
    "is_final",
)


_INPUT_NAMES = (
    "id",
    "team_id",
    "is_baseline",
    "submitted_at",
    "public_score",
    "private_score",
    "is_final",
)


def _input(higher_is_better: bool, *values: object) -> SubmissionInput:
    """A ``SubmissionInput`` from the values of ``INPUT_FIELDS``, in that order, on a board
    whose metric is ``higher_is_better``."""
    return SubmissionInput(
        **dict(zip(_INPUT_NAMES, values, strict=True)),  # type: ignore[arg-type]
        higher_is_better=higher_is_better,
    )


@dataclass(frozen=True)
class BoardChanged:
    """A rebuild that wrote a change: the task's board, and its track's when the change
    reaches what the track's board reads (:data:`TRACK_FIELDS`; else None)."""

    task_id: int
    track_id: int | None


def rebuild(*, task_id: int, teams: set[int] | None = None) -> BoardChanged | None:
    """The stored board's step of a refresh, in the turn's transaction: the whole board
    (:func:`_board_whole`), or with ``teams`` those teams' entries, the others as stored and
    ranked again (:func:`_board_teams`); then only what changed is written
    (:func:`_board_write`), and the task's history chart forgotten. None when nothing
    changed (a refresh run again for a change already shown) or the task is gone."""
    task = Task.objects.select_related("track__challenge").filter(pk=task_id).first()
    if task is None:
        return None  # deleted meanwhile
    rebuilt = _board_whole(task) if teams is None else _board_teams(task, teams)
    track_changed = _board_write(rebuilt)
    if track_changed is None:
        return None  # nothing changed
    try:
        cache.delete(history_cache_key(task_id=task.pk))
    except cache_unavailable_errors():  # the entries above must not roll back for a cache
        logger.warning("the history chart of task %s was not invalidated", task.pk)
    return BoardChanged(task_id=task.pk, track_id=task.track_id if track_changed else None)


EntryKey = tuple[int, str]  # (team id, split): one entry of a board


@dataclass
class _Rebuilt:
    """A rebuild before it is written: ``rows``, the entries computed from submissions
    (plain values; only the rows written become model instances); ``stored``, the stored
    entries they replace or match, by :data:`EntryKey` (what is left of them once the rows
    are matched is no longer on the board); ``moved``, stored entries of other teams that
    only change place (id, rank, position); ``track_changed``, whether one of those moves
    changed a rank (the track's board reads it)."""

    rows: list[dict]
    stored: dict[EntryKey, dict]
    moved: list[tuple[int, int | None, int]] = field(default_factory=list)
    track_changed: bool = False


@dataclass(frozen=True)
class _Scored:
    """The submissions a rebuild ranks: the ranking core's inputs, each one's scores (by
    submission id), and each team's count and last time (by team id)."""

    inputs: list[SubmissionInput]
    scores: dict[int, dict | None]
    counts: dict[int, tuple[int, Any]]
    mode: str = board_modes.PLAIN  # the public board's (``ladder.public_board``)
    files: dict[int, str] = field(default_factory=dict)  # each one's stored predictions


def _board_whole(task: Task, board_q: Q | None = None) -> _Rebuilt:
    """Every entry of the board computed from every submission it ranks (``board_q``: the
    board's filter, when the caller has read it)."""
    stored = _stored_entries(task).values("id", *ENTRY_FIELDS)
    submissions = ranked_submissions(task=task, board_q=board_q)
    scored, selected = _selected(task, _scored(task, submissions))
    ranked = _ranked(task, selected)
    rows = [_entry_row(task, split, r, scored) for split, board in ranked.items() for r in board]
    return _Rebuilt(rows=rows, stored=_by_key(stored))


def _board_teams(task: Task, teams: set[int]) -> _Rebuilt:
    """The entries of ``teams`` computed from their submissions; the other teams' entries as
    stored, ranked again around them (moved when their place changes), instead of reading
    every submission of the task (which grows through a rush)."""
    phase, board_q = board_filter(challenge=task.track.challenge)
    stored = _stored_entries(task)
    # The other teams' entries only move: their ranking fields are read, not the rest
    # (decoding every field of a 300-team board's 600 rows was a fifth of a scoring's time in
    # the rush's profile); the changed teams' rows whole, to compare.
    others = _by_key(
        stored.exclude(team_id__in=teams).values("id", *RANKING_FIELDS, "submission__phase_id")
    )
    if phase is not None and any(e["submission__phase_id"] != phase.pk for e in others.values()):
        # The board's phase changed since they were written: a phase started or ended by the
        # clock, and the beat's phase tick, which rebuilds every board, comes within its
        # minute. Ranked around, they would mix two phases' scores on one board until then.
        return _board_whole(task, board_q)
    changed = _by_key(stored.filter(team_id__in=teams).values("id", *ENTRY_FIELDS))
    submissions = ranked_submissions(task=task, board_q=board_q).filter(team_id__in=teams)
    scored, selected = _selected(task, _scored(task, submissions), teams)
    higher = task_higher_is_better(task=task)
    for split, entries in selected.items():
        entries += [
            _stored_entry(entry, higher) for (_, on), entry in others.items() if on == split
        ]
    rebuilt = _Rebuilt(rows=[], stored=changed)
    for split, board in _ranked(task, selected).items():
        for r in board:
            if r.entry.team_id in teams:
                rebuilt.rows.append(_entry_row(task, split, r, scored))
                continue
            old = others.pop((r.entry.team_id, split))
            if (old["rank"], old["position"]) != (r.rank, r.position):
                # Shifted by another team's score: updated where it is (a better score
                # shifts every entry below it).
                rebuilt.moved.append((old["id"], r.rank, r.position))
                rebuilt.track_changed = rebuilt.track_changed or old["rank"] != r.rank
    return rebuilt


def _stored_entries(task: Task) -> QuerySet[LeaderboardEntry]:
    # Ordered by place, not by the model's ordering (which joins the task, its track and
    # challenge to sort by the task): exact ties keep their places.
    return LeaderboardEntry.objects.filter(task=task).order_by("split", "position")


def _by_key(entries: Iterable[dict]) -> dict[EntryKey, dict]:
    return {(e["team_id"], e["split"]): e for e in entries}


def _stored_entry(entry: dict, higher_is_better: bool) -> EntryInput:
    """Another team's stored entry, to rank again (its payload: the stored row)."""
    return EntryInput(
        team_id=entry["team_id"],
        is_baseline=entry["is_baseline"],
        score=entry["score"],
        submitted_at=entry["best_submitted_at"],
        payload=entry,
        higher_is_better=higher_is_better,
    )


def _scored(task: Task, submissions: QuerySet[Submission]) -> _Scored:
    """``submissions`` as the ranking core's inputs, read as plain values (not model
    instances: this runs in every scoring's transaction)."""
    rows = list(submissions.values_list(*INPUT_FIELDS, "predictions", "scores"))
    higher = task_higher_is_better(task=task)
    inputs = [_input(higher, *row[:-2]) for row in rows]
    # A team's count and last time are of the submissions the board ranks (scored, not
    # hidden, before the end): queued or failed ones are not results. Every outcome that
    # changes them (a score, a hide or restore, a rescore) calls this refresh.
    counts: dict[int, tuple[int, Any]] = {}
    for s in inputs:
        n, last = counts.get(s.team_id, (0, None))
        counts[s.team_id] = (n + 1, max(last, s.submitted_at) if last else s.submitted_at)
    return _Scored(
        inputs=inputs,
        scores={row[0]: row[-1] for row in rows},
        counts=counts,
        files={row[0]: row[-2] for row in rows},
    )


def _selected(
    task: Task, scored: _Scored, teams: set[int] | None = None
) -> tuple[_Scored, dict[str, list[EntryInput]]]:
    """Each split's entries of the scored teams (``teams``; None: all): on the public split
    their best submission, or under a ladder mode their leader with its shown score
    (docs/organizers/ladder.md; every entry's step decided on the way); on the private split, the
    best of their final selection. With ``scored`` in the public board's mode."""
    max_final = task.track.challenge.max_final_selections
    mode, public = public_board(task=task, inputs=scored.inputs, files=scored.files, teams=teams)
    return replace(scored, mode=mode), {
        Split.PUBLIC: public,
        Split.PRIVATE: private_entries(scored.inputs, max_final=max_final),
    }


def _ranked(
    task: Task, selected: dict[str, list[EntryInput]]
) -> dict[str, list[RankedEntry[EntryInput]]]:
    higher = task_higher_is_better(task=task)
    return {
        split: rank_entries(entries, higher_is_better=higher) for split, entries in selected.items()
    }


def _entry_row(task: Task, split: str, ranked: RankedEntry[EntryInput], scored: _Scored) -> dict:
    """The stored values of a recomputed entry (the intervals and flips come later, from the
    bootstrap job)."""
    sub = ranked.entry.payload
    n, last = scored.counts.get(sub.team_id, (0, None))
    metrics = (scored.scores[sub.id] or {}).get(split, {})
    if split == Split.PUBLIC and scored.mode != board_modes.PLAIN and not sub.is_baseline:
        # A ladder board keeps no exact figure of the entry: its shown score, and what the
        # track reads moved with it (docs/organizers/ladder.md).
        primary = task.primary_metric or kind_get(task.kind).primary
        metrics = kind_get(task.kind).shown_metrics(primary, ranked.entry.score, metrics)
    return {
        **UNSCORED_FIELDS,
        "task_id": task.pk,
        "team_id": sub.team_id,
        "split": split,
        "submission_id": sub.id,
        "score": ranked.entry.score,
        "metrics": metrics,
        "rank": ranked.rank,
        "position": ranked.position,
        "is_baseline": ranked.entry.is_baseline,
        "submission_count": n,
        "last_submission_at": last,
        "best_submitted_at": sub.submitted_at,
    }


def _board_write(rebuilt: _Rebuilt) -> bool | None:
    """Write what changed of ``rebuilt``: a score moves one team and shifts a few others,
    while rewriting the whole board (600 rows for 300 teams) took most of a scoring's time
    in the deadline rush. Whether the change reaches the track's board; None when nothing
    changed."""
    stored, moved, track_changed = rebuilt.stored, rebuilt.moved, rebuilt.track_changed
    replaced, written = [], []
    for row in rebuilt.rows:
        old = stored.pop((row["team_id"], row["split"]), None)
        if old is not None and old["submission_id"] == row["submission_id"]:
            # Keep computed intervals for entries whose submission did not change.
            row.update({name: old[name] for name in UNSCORED_FIELDS})
            if _same(old, row, ENTRY_FIELDS):
                continue
            if _same(old, row, UNMOVED_FIELDS):
                # Shifted by another team's score: a new place, updated where it is.
                moved.append((old["id"], row["rank"], row["position"]))
                track_changed = track_changed or old["rank"] != row["rank"]
                continue
        if old is not None:
            replaced.append(old["id"])
        written.append(LeaderboardEntry(**row))
        track_changed = track_changed or old is None or not _same(old, row, TRACK_FIELDS)
    replaced += [e["id"] for e in stored.values()]  # teams no longer on the board
    track_changed = track_changed or bool(stored)
    with transaction.atomic(savepoint=False):
        if replaced:
            LeaderboardEntry.objects.filter(pk__in=replaced).delete()
        _entries_move(moved)
        LeaderboardEntry.objects.bulk_create(written)
        if not (replaced or moved or written):
            return None
    # The track's board reads only TRACK_FIELDS of these rows: a score that changes none of
    # them (a team's count, a worse try) leaves it, and its cache, as it was.
    return track_changed


# Every stored field of an entry but its id; and those the track's board reads
# (``selectors.leaderboard_for_track``: its scores, ranks, tie-break, baselines, prize NFR).
ENTRY_FIELDS = tuple(f.attname for f in LeaderboardEntry._meta.concrete_fields if not f.primary_key)
TRACK_FIELDS = ("team_id", "score", "rank", "is_baseline", "best_submitted_at", "nfr")


# An entry whose other fields are unchanged is moved in place (rank and position only).
UNMOVED_FIELDS = tuple(name for name in ENTRY_FIELDS if name not in ("rank", "position"))
# What ranking another team's stored entry again reads of it.
RANKING_FIELDS = (
    "team_id", "split", "submission_id", "score", "best_submitted_at", "is_baseline", "rank",
    "position",
)  # fmt: skip


def _entries_move(moved: list[tuple[int, int | None, int]]) -> None:
    """Set the (id, rank, position) of entries in one statement: on PostgreSQL an UPDATE
    from three arrays; elsewhere Django's ``bulk_update``. Measured in the rush bench's
    profile: rewriting the 300 shifted rows of a 300-team board as model instances (delete,
    then insert) took most of a scoring's time."""
    if not moved:
        return
    ids, ranks, positions = (list(column) for column in zip(*moved, strict=True))
    if connection.vendor == "postgresql":
        table = LeaderboardEntry._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS e SET rank = v.rank, position = v.position "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) AS v(id, rank, position) "
                "WHERE e.id = v.id",
                [ids, ranks, positions],
            )
        return
    LeaderboardEntry.objects.bulk_update(
        [LeaderboardEntry(id=i, rank=r, position=p) for i, r, p in moved], ["rank", "position"]
    )


# What the bootstrap job computes later; kept from the old entry while its submission stays.
UNSCORED_FIELDS = {
    "score_low": None,
    "score_high": None,
    "rank_low": None,
    "rank_high": None,
    "tied_with_best": False,
    **{name: None for name in RANK_SET_FIELDS},
    **{name: None for name in FLIP_FIELDS},
}


def _same(old: dict, new: dict, fields: tuple[str, ...]) -> bool:
    return all(old[name] == new[name] for name in fields)
