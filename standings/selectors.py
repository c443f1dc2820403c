"""Reads of the end: the frozen standings, winners per track, the post-challenge board."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from challenges.models import Challenge, Team, Track
from challenges.selectors import is_organizer, user_is_member
from challenges.split_access import private_visible
from common.finite import float_or_none
from datasets.models import Task
from kinds import metric_direction
from leaderboard.core.ranking import rank_entries, select_team_best
from leaderboard.stored_board import submission_inputs
from scoring.selectors import User, public_scores_shown

from .core import cowinner_decision, separable_from_winner
from .models import FinalStandings, MethodWriteup
from .services import standings_compute


def final_standings_get(*, challenge: Challenge) -> FinalStandings | None:
    return FinalStandings.objects.filter(challenge=challenge).first()


Viewer = AbstractBaseUser | AnonymousUser | None


def standings_revealed(*, challenge: Challenge, user: Viewer) -> bool:
    """Whether ``user`` may read the private snapshot: the rule of the private boards
    (organizers always, everyone once revealed by the organizers' action or ``reveal_at``)."""
    return private_visible(challenge=challenge, user=user or AnonymousUser())


def frozen_document(
    *, frozen: FinalStandings, challenge: Challenge, user: Viewer
) -> dict[str, Any]:
    """What ``user`` may read of a frozen snapshot.

    Revealed: the hashed private snapshot itself plus its ``sha256``, in full (``"split":
    "private", "revealed": true``). Sealed: the same boards on the public split at the end
    (``"split": "public", "revealed": false``) with the ``sha256`` of the sealed private
    snapshot, a commitment anyone can check once it is published (see ``standings.core``).
    An organizer reads the private snapshot before the reveal too, marked truthfully
    ``"revealed": false`` (its ``sha256`` is the one the published document will carry,
    with ``"revealed": true``).
    """
    if standings_revealed(challenge=challenge, user=user):
        document = {**json.loads(frozen.canonical), "sha256": frozen.sha256}
        if not standings_revealed(challenge=challenge, user=AnonymousUser()):
            document["revealed"] = False  # an organizer's preview: not published yet
        return document
    if frozen.public_canonical:
        public = json.loads(frozen.public_canonical)
    else:  # frozen before the public view was kept: the same boards, computed now
        public = standings_compute(challenge=challenge, frozen_at=frozen.frozen_at, split="public")
    return {**public, "sha256": frozen.sha256}


def standings_document(*, challenge: Challenge, user: Viewer = None) -> dict[str, Any]:
    """docs/architecture.md §10: ``{"frozen_at", "sha256", "tracks", "tasks"}``; empty before the
    freeze: ``frozen_at``, ``sha256`` and ``split`` null (no entries are ranked on any split
    yet), each track and task with no entries.

    After the freeze see :func:`frozen_document`: the private split only for those who may
    see it (as the boards), so frozen is not revealed.
    """
    frozen = final_standings_get(challenge=challenge)
    if frozen is not None:
        return frozen_document(frozen=frozen, challenge=challenge, user=user)
    tracks = list(challenge.tracks.order_by("order", "slug").prefetch_related("tasks"))
    return {
        "challenge": challenge.slug,
        "end": challenge.end.isoformat(),
        "frozen_at": None,
        "sha256": None,
        "split": None,
        "revealed": False,
        "tracks": [
            {
                "track": t.slug,
                "title": t.title,
                "prize": t.prize,
                "prize_max_nfr": t.prize_max_nfr,
                "tasks": [task.slug for task in t.tasks.all()],
                "entries": [],
            }
            for t in tracks
        ],
        "tasks": [
            {
                "task": task.slug,
                "title": task.title,
                "track": t.slug,
                "metric": task.primary_metric,
                "direction": metric_direction(task.primary_metric),
                "split": None,
                "entries": [],
            }
            for t in tracks
            for task in t.tasks.all()
        ],
    }


@dataclass(frozen=True)
class Winner:
    rank: int
    team_name: str
    team_id: int
    score: float | None
    writeup: MethodWriteup | None
    prize_eligible: bool = True  # False above the track's NFR limit (shown, marked)
    p_first: float | None = None
    group: int | None = None  # 1: cannot be separated from #1
    shares_first: bool = False  # the challenge decides co-winners: shares the first prize
    reason: str | None = None  # why a team of group 1 is (or is not) a co-winner


@dataclass(frozen=True)
class TrackWinners:
    track: Track
    frozen: FinalStandings | None
    winners: list[Winner]
    # False while the private split is sealed for this viewer: no winner is named yet.
    revealed: bool = True
    # Teams that cannot be separated from #1 at the challenge's confidence level, besides
    # the winners listed (the challenge's ``cowinners`` is "show"); empty otherwise.
    cowinners: list[Winner] = field(default_factory=list)
    cowinners_mode: str = "off"
    confidence_level: float | None = None  # the level the frozen groups were computed at
    # Teams of group 1 that are not co-winners (their track mean does not beat the trivial
    # baseline's), each with its reason; and the rule, in words.
    not_cowinners: list[Winner] = field(default_factory=list)
    cowinner_rule: str = ""
    # Who the joint rank sets separate from the winner, in words (empty: no tiers).
    separable: str = ""


def winners_for_track(*, track: Track, user: Viewer = None, n: int = 3) -> TrackWinners:
    """The top ``n`` prize-eligible teams of the frozen track board, once the viewer may see
    the private split; none before (winners are decided on the private split)."""
    frozen = final_standings_get(challenge=track.challenge)
    if frozen is None:
        return TrackWinners(track, None, [], revealed=False)
    if not standings_revealed(challenge=track.challenge, user=user):
        return TrackWinners(track, frozen, [], revealed=False)
    doc = json.loads(frozen.canonical)
    board = next((t for t in doc["tracks"] if t["track"] == track.slug), None) or {}
    mode = track.challenge.cowinners
    decision = cowinner_decision(board.get("entries") or [], mode=mode, n=n, track=board)
    named = {e["team_id"] for e in decision.cowinners} | decision.shared
    left_out = [  # group 1, not a co-winner (it may still be listed by its rank)
        e
        for e in board.get("entries") or []
        if e.get("team_id") in decision.reasons and e["team_id"] not in named
    ]
    writeups = {
        w.team_id: w
        for w in MethodWriteup.objects.filter(
            team_id__in=[e["team_id"] for e in decision.winners + decision.cowinners]
        )
        .select_related("team")
        .prefetch_related("submissions__task")
    }

    def winner(e: dict[str, Any]) -> Winner:
        return Winner(
            e["rank"],
            e["team"],
            e["team_id"],
            e["score"],
            writeups.get(e["team_id"]),
            e.get("prize_eligible") is not False,
            p_first=e.get("p_first"),
            group=e.get("group"),
            shares_first=e["team_id"] in decision.shared,
            reason=decision.reasons.get(e["team_id"]),
        )

    return TrackWinners(
        track,
        frozen,
        [winner(e) for e in decision.winners],
        cowinners=[winner(e) for e in decision.cowinners],
        cowinners_mode=mode,
        confidence_level=board.get("confidence_level"),
        not_cowinners=[winner(e) for e in left_out],
        cowinner_rule=decision.rule,
        separable=separable_from_winner(board.get("entries") or []),
    )


@dataclass(frozen=True)
class PostChallengeRow:
    position: int
    rank: int | None
    team: Team
    is_baseline: bool
    score: float | None
    submission_id: int
    submitted_at: Any


POST_CHALLENGE_LADDER = (
    "This task's public board is a ladder board: the post-challenge board's public scores "
    "are exact, so they are shown once the private leaderboard is revealed."
)


def post_challenge_hidden(*, task: Task, split: str, user: User) -> bool:
    """Whether the post-challenge board on ``split`` is withheld from ``user``: the public
    split of a ladder board, for a reader who may not see exact public scores
    (docs/organizers/ladder.md; its entries are never laddered)."""
    return split == "public" and not public_scores_shown(task=task, user=user)


def post_challenge_board(*, task: Task, split: str = "public") -> list[PostChallengeRow]:
    """Each team's best submission made after the challenge's end: a benchmark, not a contest.

    Ranked like a task board on ``split``; never part of the standings.
    """
    inputs, by_id = submission_inputs(task=task, post_challenge=True)
    ranked = rank_entries(select_team_best(inputs, split=split))
    return [
        PostChallengeRow(
            position=r.position,
            rank=r.rank,
            team=by_id[r.entry.payload.id].team,
            is_baseline=r.entry.is_baseline,
            score=float_or_none(r.entry.score),
            submission_id=r.entry.payload.id,
            submitted_at=r.entry.submitted_at,
        )
        for r in ranked
    ]


def writeup_visible(*, team: Team, user: Viewer) -> bool:
    """Whether ``user`` may read ``team``'s method write-up: anyone once the challenge has
    ended; before, the team's members and the organizers."""
    viewer = user or AnonymousUser()
    return (
        timezone.now() >= team.challenge.end
        or is_organizer(user=viewer)
        or user_is_member(team=team, user=viewer)
    )


def writeup_for_team(*, team: Team) -> MethodWriteup | None:
    return (
        MethodWriteup.objects.filter(team=team)
        .prefetch_related("submissions__task")
        .select_related("team__challenge")
        .first()
    )
