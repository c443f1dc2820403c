"""Writes of the challenge's end: freezing the final standings (a team's method write-up
is ``standings.writeups``).

The freeze ranks exactly what the private boards rank: the same ranking core over the same
submissions (``leaderboard.stored_board.submission_inputs``: scored, not hidden, team not
hidden, made before the challenge's ``end``; each team's finals). Anything uploaded later
belongs to the post-challenge board and never to the standings, however late the freeze
runs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import audit_record, reason_check
from challenges.models import Challenge, Team, Track
from challenges.phases import phases_end_at
from common import board_modes
from common.finite import float_or_none
from common.refusals import Refusal
from datasets.models import Task
from kinds import kind_get, metric_direction
from leaderboard.boards.ladder import public_board_entries, task_board_mode
from leaderboard.boards.track_shown import WITHHELD_BOARD
from leaderboard.core.flipboard import nfr_prize_eligible
from leaderboard.core.rank_sets import team_rank_set_fields, team_rank_sets
from leaderboard.core.ranking import (
    private_entries,
    rank_entries,
)
from leaderboard.core.track import TrackRow, ranked_tasks, track_standings
from leaderboard.models import LeaderboardEntry
from leaderboard.statistics.first import EMPTY as EMPTY_FIRST
from leaderboard.statistics.first import TeamFirst, comparison_fields, first_compute, first_fields
from leaderboard.stored_board import submission_inputs, task_higher_is_better
from scoring.models import Reference, ReferenceSource, Submission

from .core import canonical_json, snapshot_digest
from .models import FinalStandings, MethodWriteup

logger = logging.getLogger(__name__)


class StandingsError(Refusal):
    """A change of the challenge's end refused (nothing changed): ``message`` for the
    person, ``code`` the rule, ``http_status`` how to answer, ``retry_after`` when the same
    request may succeed later (the team's upload rate)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        http_status: int = 400,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(code, message, http_status, retry_after=retry_after)


# --- the freeze ---------------------------------------------------------------------------


def _methods(challenge: Challenge) -> dict[int, MethodWriteup]:
    return {w.team_id: w for w in MethodWriteup.objects.filter(team__challenge=challenge)}


def _method_ref(writeup: MethodWriteup | None) -> dict[str, Any] | None:
    if writeup is None:
        return None
    return {"title": writeup.title, "url": f"/teams/{writeup.team_id}/method/"}


def _task_board(
    task: Task, *, split: str, max_final: int, methods: dict[int, MethodWriteup]
) -> tuple[
    dict[str, Any],
    dict[int, tuple[float | None, int | None, datetime]],
    dict[int, float | None],
    dict[int, Submission],
    dict[int, float],
]:
    """One task's board at the end on ``split``, ranked as its board ranks it: the private
    board each team's finals, the public board each team's best public submission (on a
    ladder board its leader with its shown score, docs/organizers/ladder.md); with each team's
    (score, rank, submitted at), what its score adds to the track's mean, the submission ranked
    (whose predictions P(first) resamples) and, on a ladder board, what moves those resamples from
    its exact value to its shown one."""
    # made before the end, of the final phase (docs/decisions/0066-phases.md)
    inputs, by_id = submission_inputs(task=task, final=True)
    laddered = split != "private" and task_board_mode(task=task) != board_modes.PLAIN
    if split == "private":
        ranked = rank_entries(private_entries(inputs, max_final=max_final))
    else:  # the public board's rule: each team's leader with its shown score on a ladder
        files = {pk: sub.predictions.name for pk, sub in by_id.items()}
        ranked = rank_entries(public_board_entries(task=task, inputs=inputs, files=files))
    entries = []
    per_team: dict[int, tuple[float | None, int | None, datetime]] = {}
    values: dict[int, float | None] = {}  # what each team's score adds to the track's mean
    shifts: dict[int, float] = {}
    ranked_submissions: dict[int, Submission] = {}
    kind = kind_get(task.kind)
    for r in ranked:
        sub = by_id[r.entry.payload.id]
        entries.append(
            {
                "rank": r.rank,
                "position": r.position,
                "team": sub.team.name,
                "team_id": sub.team_id,
                "is_baseline": r.entry.is_baseline,
                "score": float_or_none(r.entry.score),
                "submission": sub.id,
                "submitted_at": sub.created_at.isoformat(),
                "method": None if r.entry.is_baseline else _method_ref(methods.get(sub.team_id)),
            }
        )
        per_team[sub.team_id] = (r.entry.score, r.rank, sub.created_at)
        ranked_submissions[sub.team_id] = sub
        metrics = (sub.scores or {}).get(split) or {}
        if laddered and not r.entry.is_baseline and r.entry.score is not None:
            exact = kind.track_value(task.primary_metric, sub.public_score, metrics)
            metrics = kind.shown_metrics(task.primary_metric, r.entry.score, metrics)
            shown = kind.track_value(task.primary_metric, r.entry.score, metrics)
            if exact is not None and shown is not None:
                shifts[sub.team_id] = shown - exact
        values[sub.team_id] = (
            None
            if r.entry.score is None
            else kind.track_value(task.primary_metric, r.entry.score, metrics)
        )
    board = {
        "task": task.slug,
        "title": task.title,
        "track": task.track.slug,
        "metric": task.primary_metric,
        "direction": metric_direction(task.primary_metric),
        "split": split,
        "entries": entries,
    }
    return board, per_team, values, ranked_submissions, shifts


def split_nfrs(*, tasks: list[Task], split: str = "private") -> dict[int, list[float | None]]:
    """Each team's NFR against the primary reference on the ``split`` board of ``tasks``."""
    out: dict[int, list[float | None]] = {}
    for team_id, nfr in LeaderboardEntry.objects.filter(task__in=tasks, split=split).values_list(
        "team_id", "nfr"
    ):
        out.setdefault(team_id, []).append(nfr)
    return out


def trivial_track_mean(*, tasks: list[Task], split: str) -> dict[str, Any] | None:
    """The trivial baseline's track mean over ``tasks`` on ``split`` (what its scores add to
    the mean, ``TaskKind.track_value``; a task without one counts 0, as a team's missing
    score does): ``{"score", "tasks"}`` (tasks: how many had one), or None when none has."""
    values = []
    for reference in Reference.objects.filter(task__in=tasks, source=ReferenceSource.TRIVIAL):
        task = next(t for t in tasks if t.pk == reference.task_id)
        score = reference.private_score if split == "private" else reference.public_score
        if score is None:
            continue
        value = kind_get(task.kind).track_value(
            task.primary_metric, score, (reference.scores or {}).get(split) or {}
        )
        if value is not None:
            values.append(float(value))
    if not values:
        return None
    return {"score": float_or_none(math.fsum(values) / len(tasks)), "tasks": len(values)}


@dataclass
class _TrackBoards:
    """What a track's task boards give its standings, by task slug then team id: each
    team's score, what it adds to the track's mean, its rank and its submission ranked;
    and each team's latest submission time on the track (the tie-break)."""

    scores: dict[str, dict[int, float | None]] = field(default_factory=dict)
    values: dict[str, dict[int, float | None]] = field(default_factory=dict)
    ranks: dict[str, dict[int, int | None]] = field(default_factory=dict)
    submissions: dict[str, dict[int, Submission]] = field(default_factory=dict)
    tie_break: dict[int, datetime] = field(default_factory=dict)
    shifts: dict[str, dict[int, float]] = field(default_factory=dict)  # ladder boards


def _track_boards(
    tasks: list[Task], *, split: str, max_final: int, methods: dict[int, MethodWriteup]
) -> tuple[list[dict[str, Any]], _TrackBoards]:
    """Each task's board of the track (the snapshot's ``tasks``) and what they give the
    track's standings."""
    boards: list[dict[str, Any]] = []
    out = _TrackBoards()
    for task in tasks:
        board, per_team, values, submissions, shifts = _task_board(
            task, split=split, max_final=max_final, methods=methods
        )
        out.values[task.slug], out.submissions[task.slug] = values, submissions
        if shifts:
            out.shifts[task.slug] = shifts
        boards.append(board)
        out.scores[task.slug] = {tid: v[0] for tid, v in per_team.items()}
        out.ranks[task.slug] = {tid: v[1] for tid, v in per_team.items()}
        for tid, (_, _, at) in per_team.items():
            out.tie_break[tid] = max(out.tie_break.get(tid, at), at)
    return boards, out


@dataclass
class _TrackRanking:
    """A track's ranked entries, the tasks some team entered (the ranked ones), the pairwise
    comparisons behind its groups and the trivial baseline's mean; empty for a track
    without tasks."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    ranked: set[str] = field(default_factory=set)
    comparisons: dict[str, Any] = field(
        default_factory=lambda: comparison_fields(board=EMPTY_FIRST, names={})
    )
    trivial: dict[str, Any] | None = None


def _track_entry(
    row: TrackRow,
    team: Team,
    *,
    nfrs: list[float | None],
    prize_max_nfr: float | None,
    method: MethodWriteup | None,
    first: TeamFirst | None,
) -> dict[str, Any]:
    """One team's row of a track's standings."""
    return {
        "rank": row.rank,
        "position": row.position,
        "team": team.name,
        "team_id": team.pk,
        "is_baseline": row.is_baseline,
        "score": float_or_none(row.mean_score),
        "task_scores": {k: float_or_none(v) for k, v in row.task_scores.items()},
        "missing": list(row.missing),
        # The track's NFR limit for the prize (docs/architecture.md §11): marked, not
        # removed.
        "prize_eligible": None if row.is_baseline else nfr_prize_eligible(nfrs, prize_max_nfr),
        "method": None if row.is_baseline else _method_ref(method),
        **first_fields(first=first),
    }


def _track_ranking(
    challenge: Challenge,
    track: Track,
    tasks: list[Task],
    boards: _TrackBoards,
    *,
    split: str,
    teams: dict[int, Team],
    methods: dict[int, MethodWriteup],
) -> _TrackRanking:
    """The track's standings on ``split`` over its (non-empty) ``tasks``: ranked as its
    board ranks them, with who is first, the groups and the prize's NFR limit."""
    baselines = {tid for tid, t in teams.items() if t.is_baseline}
    slugs = [t.slug for t in tasks]
    rows = track_standings(
        slugs,
        boards.scores,
        baselines,
        values=boards.values,
        higher_is_better={t.slug: task_higher_is_better(task=t) for t in tasks},
        tie_break_at=boards.tie_break,
        task_ranks=boards.ranks,
    )
    nfrs = split_nfrs(tasks=tasks, split=split)
    ranked = set(ranked_tasks(slugs, boards.scores, baselines))
    counted = [t for t in tasks if t.slug in ranked] or tasks
    # Who is first on this split (docs/architecture.md §12): the sealed public view never
    # holds a private-based value, the private snapshot hashes its own.
    # A laddered task's public rows are exact: the sealed public view holds none of the
    # figures resampled from them (leaderboard.boards.track_shown); the private view has them all.
    first_board = (
        WITHHELD_BOARD
        if boards.shifts
        else first_compute(
            tasks=counted,
            split=split,
            teams=[row.team_id for row in rows],
            baselines=baselines,
            values=boards.values,
            submissions=boards.submissions,
            alpha=challenge.alpha,
            margin=challenge.equivalence_margin,
            shifts=boards.shifts,
        )
    )
    comparisons = comparison_fields(
        board=first_board, names={tid: t.name for tid, t in teams.items()}
    )
    trivial = trivial_track_mean(tasks=counted, split=split)
    entries = [
        _track_entry(
            row,
            teams[row.team_id],
            nfrs=nfrs.get(row.team_id, []),
            prize_max_nfr=track.prize_max_nfr,
            method=methods.get(row.team_id),
            first=first_board.teams.get(row.team_id),
        )
        for row in rows
    ]
    _add_rank_sets(entries, boards, rows, [t.slug for t in counted])
    if boards.shifts:  # a ladder board's public NFRs are of its exact rows
        # (docs/organizers/ladder.md)
        for entry in entries:
            entry["prize_eligible"] = None
    return _TrackRanking(entries=entries, ranked=ranked, comparisons=comparisons, trivial=trivial)


def _add_rank_sets(
    entries: list[dict[str, Any]], boards: _TrackBoards, rows: list[TrackRow], tasks: list[str]
) -> None:
    """Each entry's joint ``rank_set`` and ``tier`` over the track's tasks
    (docs/decisions/0069-simultaneous-rank-sets.md); none on a ladder board's public view,
    whose values rest on the exact public rows."""
    found = team_rank_sets(
        values={} if boards.shifts else boards.values,
        teams=[] if boards.shifts else [row.team_id for row in rows if not row.is_baseline],
        tasks=tasks,
    )
    for entry in entries:
        entry.update(team_rank_set_fields(found, entry["team_id"]))


def standings_compute(
    *, challenge: Challenge, frozen_at: datetime, split: str = "private"
) -> dict[str, Any]:
    """The snapshot (without its digest) of every task and track board at ``challenge.end``.

    ``split="private"`` is the final standings, hashed and published at the reveal;
    ``split="public"`` the same boards on the public rows, which is what the public sees
    between the freeze and the reveal (``standings.selectors.standings_document``). The
    private one says so in itself (``"split": "private", "revealed": true``), so the
    published document is exactly the hashed text plus its ``sha256``.
    """
    methods = _methods(challenge)
    teams = {t.pk: t for t in Team.objects.filter(challenge=challenge)}
    tasks_out: list[dict[str, Any]] = []
    tracks_out: list[dict[str, Any]] = []
    for track in challenge.tracks.order_by("order", "slug"):
        tasks = list(track.tasks.select_related("track__challenge").order_by("order", "slug"))
        task_boards, boards = _track_boards(
            tasks, split=split, max_final=challenge.max_final_selections, methods=methods
        )
        tasks_out.extend(task_boards)
        ranking = (
            _track_ranking(
                challenge, track, tasks, boards, split=split, teams=teams, methods=methods
            )
            if tasks
            else _TrackRanking()
        )
        tracks_out.append(
            {
                "track": track.slug,
                "title": track.title,
                "prize": track.prize,
                "prize_max_nfr": track.prize_max_nfr,
                "confidence_level": challenge.confidence_level,
                "tasks": [t.slug for t in tasks],
                "entries": ranking.entries,
                # issue 38: tasks nobody entered are in no mean; the trivial baseline's mean
                # a co-winner must beat; the pairwise comparisons behind the groups
                "unranked_tasks": [
                    t.slug for t in tasks if ranking.ranked and t.slug not in ranking.ranked
                ],
                "trivial_reference": ranking.trivial,
                **ranking.comparisons,
            }
        )
    return {
        "challenge": challenge.slug,
        "end": challenge.end.isoformat(),
        "frozen_at": frozen_at.isoformat(),
        "split": split,
        "revealed": split == "private",
        "tracks": tracks_out,
        "tasks": tasks_out,
    }


def _snapshots(*, challenge: Challenge, frozen_at: datetime) -> tuple[dict[str, Any], str]:
    """The private snapshot (hashed) and the public one's canonical text, both at the end."""
    private = standings_compute(challenge=challenge, frozen_at=frozen_at, split="private")
    public = standings_compute(challenge=challenge, frozen_at=frozen_at, split="public")
    return private, canonical_json(public)


def challenge_finish(
    *, challenge: Challenge, now: datetime | None = None, force: bool = False, actor: Any = None
) -> tuple[FinalStandings, bool]:
    """Freeze the final standings once; return ``(snapshot, created)``.

    Idempotent: a second call returns the existing snapshot untouched. Refused before
    ``end`` unless ``force`` (an organizer ending early must move ``end`` first, so the
    snapshot and the post-challenge board agree on where the challenge stopped).
    """
    now = now or timezone.now()
    if now < challenge.end and not force:
        raise StandingsError(
            f"The challenge ends on {challenge.end:%Y-%m-%d %H:%M} UTC; its standings can only "
            "be frozen after that.",
            code="not_ended",
            http_status=409,
        )
    with transaction.atomic():
        # One freeze at a time per challenge: the row lock serializes concurrent callers.
        locked = Challenge.objects.select_for_update().get(pk=challenge.pk)
        existing = FinalStandings.objects.filter(challenge=locked).first()
        if existing is not None:
            return existing, False
        snapshot, public = _snapshots(challenge=locked, frozen_at=now)
        digest = snapshot_digest(snapshot)
        frozen = FinalStandings.objects.create(
            challenge=locked,
            frozen_at=now,
            sha256=digest,
            canonical=canonical_json(snapshot),
            public_canonical=public,
        )
        audit_record(actor=actor, action="standings.freeze", obj=locked, after={"sha256": digest})
        # After commit (the event's rule): e.g. the notifications, which this app never imports.
        hooks.emit(event=hooks.ChallengeFinished(challenge_id=locked.pk))
    logger.info("final standings of %s frozen (%s)", challenge.slug, digest)
    return frozen, True


def challenge_end_now(
    *, challenge: Challenge, actor: Any, reason: str, now: datetime | None = None
) -> tuple[FinalStandings, bool]:
    """End a running challenge at once and freeze its standings; return ``(snapshot, created)``.

    The organizer's "finish now": ``end`` moves to ``now`` (recorded with the reason, which
    is required: it cuts every team's time short) and the standings freeze in the same
    transaction, so the snapshot and the post-challenge board agree on where the challenge
    stopped. A challenge whose end has passed is only frozen (idempotent); one that has not
    started yet is refused (there is nothing to finish, and ``end`` must follow ``start``).
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise StandingsError(
            "Ending a challenge early needs a reason (it goes in the audit log).",
            code="reason_required",
        )
    with transaction.atomic():
        locked = Challenge.objects.select_for_update().get(pk=challenge.pk)
        if locked.end > now:
            if locked.start >= now:
                raise StandingsError(
                    f"The challenge has not started yet (it opens on "
                    f"{locked.start:%Y-%m-%d %H:%M} UTC); edit its dates instead.",
                    code="not_started",
                    http_status=409,
                )
            before = {"end": locked.end}
            locked.end = now
            locked.save(update_fields=["end"])
            phases_end_at(challenge=locked, at=now)  # several phases: the open one ends now
            audit_record(
                actor=actor,
                action="challenge.end_now",
                obj=locked,
                before=before,
                after={"end": now},
                reason=reason,
            )
            logger.info("challenge %s ended early at %s", locked.slug, now.isoformat())
        frozen, created = challenge_finish(challenge=locked, now=now, actor=actor)
    challenge.end = locked.end
    return frozen, created


def standings_refreeze(
    *, challenge: Challenge, actor: Any, reason: str, now: datetime | None = None
) -> tuple[FinalStandings, bool]:
    """Replace the frozen standings with the boards as they rank now; return
    ``(snapshot, changed)``.

    For a decision taken after the freeze (a team disqualified or a submission hidden for
    cheating found late, a rescore): the organizer corrects the boards, then re-freezes. A
    person must give a reason (it affects teams). The snapshot stays one row per challenge,
    so pages, the API and the winners read the corrected one; the previous snapshot's digest,
    time and exact text go into the audit event, which is append-only, so a digest published
    earlier stays verifiable. Nothing changes (and nothing is recorded) when the boards rank
    exactly as frozen.
    """
    reason = reason_check(action="standings.refreeze", reason=reason, actor=actor)
    now = now or timezone.now()
    with transaction.atomic():
        locked = Challenge.objects.select_for_update().get(pk=challenge.pk)
        old = FinalStandings.objects.filter(challenge=locked).first()
        if old is None:
            raise StandingsError(
                "The standings of this challenge are not frozen yet; there is nothing to "
                "re-freeze.",
                code="not_frozen",
                http_status=409,
            )
        same, same_public = _snapshots(challenge=locked, frozen_at=old.frozen_at)
        if canonical_json(same) == old.canonical and same_public == old.public_canonical:
            return old, False
        snapshot, public = _snapshots(challenge=locked, frozen_at=now)
        digest = snapshot_digest(snapshot)
        before = {"sha256": old.sha256, "frozen_at": old.frozen_at, "canonical": old.canonical}
        old.frozen_at, old.sha256 = now, digest
        old.canonical, old.public_canonical = canonical_json(snapshot), public
        old.save(update_fields=["frozen_at", "sha256", "canonical", "public_canonical"])
        audit_record(
            actor=actor,
            action="standings.refreeze",
            obj=locked,
            before=before,
            after={"sha256": digest, "frozen_at": now},
            reason=reason,
        )
    logger.info("final standings of %s re-frozen (%s)", challenge.slug, digest)
    return old, True


def challenges_finish_due(*, now: datetime | None = None) -> list[str]:
    """Freeze every challenge whose end has passed and that has no snapshot yet (beat)."""
    now = now or timezone.now()
    done = []
    for challenge in Challenge.objects.filter(end__lte=now, final_standings__isnull=True):
        _, created = challenge_finish(challenge=challenge, now=now)
        if created:
            done.append(challenge.slug)
    return done
