"""Leaderboard API (docs/architecture.md §7): entries best first, baselines with
``rank: null``."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from challenges.api.split import SPLIT_PARAMETER, api_split, split_refusal_responses
from challenges.models import Track
from common import board_modes
from datasets.selectors import task_get_or_404
from kinds import describe_metrics, metric_direction
from kinds.metrics import OPIS_DESCRIPTION

from .boards.ladder import task_board_mode
from .boards.phase_params import PHASE_PARAMETER, api_board_read, phase_refusal_responses
from .boards.phase_read import phase_track_board, phase_track_rank_sets
from .boards.read import track_board_cached
from .boards.shown import board_hides, task_board_for
from .boards.track_rank_sets import track_rank_sets
from .boards.track_shown import track_first_for, track_view
from .cache import board_cache
from .core.rank_sets import team_rank_set_fields
from .statistics.first import EMPTY, comparison_fields, first_fields
from .statistics.rank_set_fields import board_tiers, rank_set_of


class MetricSerializer(serializers.Serializer):
    label = serializers.CharField()
    direction = serializers.ChoiceField(choices=["higher", "lower"])
    higher_is_better = serializers.BooleanField()
    description = serializers.CharField(
        required=False,
        help_text="What the metric measures, where its label could mislead (OPIS: threshold"
        " consistency, not quality).",
    )


def _metric_names(primary: str, entries) -> list[str]:
    names = [primary]
    for e in entries:
        names += [m for m in e.metrics if m not in names]
    return names


class TaskEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField()
    team = serializers.CharField(source="team.name")
    team_id = serializers.IntegerField(allow_null=True, help_text="null for an uploaded reference")
    score = serializers.FloatField(allow_null=True)
    is_baseline = serializers.BooleanField()
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    submission_count = serializers.IntegerField()
    last_submission_at = serializers.DateTimeField(allow_null=True)
    best_submitted_at = serializers.DateTimeField()
    score_low = serializers.FloatField(allow_null=True)
    score_high = serializers.FloatField(allow_null=True)
    rank_low = serializers.IntegerField(allow_null=True)
    rank_high = serializers.IntegerField(allow_null=True)
    tied_with_best = serializers.BooleanField()
    rank_set = serializers.SerializerMethodField(
        help_text="[low, high]: a simultaneous 95% confidence set for the entry's rank (every "
        "entry's set holds at once; docs/developers/benchmark-statistics.md). rank_low and "
        "rank_high are the per-entry range. Null: a baseline or reference, not computed yet, "
        "or withheld (see withheld)."
    )
    tier = serializers.IntegerField(
        allow_null=True,
        default=None,
        help_text="The entry's tier (1 = best): tiers are the blocks of overlapping rank sets, "
        "so every entry of a tier is better than every entry of a later tier, jointly at 95%.",
    )
    reference = serializers.CharField(
        allow_null=True, help_text="The reference's name (rank null); null for a team."
    )
    is_primary_reference = serializers.BooleanField()
    cpu_seconds = serializers.FloatField(
        allow_null=True,
        default=None,
        help_text="CPU-seconds of the algorithm run that made the entry; null: uploaded.",
    )
    nfr = serializers.FloatField(
        allow_null=True, help_text="Negative flip rate against the primary reference."
    )
    nfr_low = serializers.FloatField(allow_null=True)
    nfr_high = serializers.FloatField(allow_null=True)
    pfr = serializers.FloatField(
        allow_null=True, help_text="Positive flip rate against the primary reference."
    )
    pfr_low = serializers.FloatField(allow_null=True)
    pfr_high = serializers.FloatField(allow_null=True)
    opis = serializers.FloatField(allow_null=True, help_text=OPIS_DESCRIPTION)
    prize_eligible = serializers.SerializerMethodField()
    robustness = serializers.JSONField(
        allow_null=True,
        default=None,
        help_text="The entry's method on perturbed copies of the test rows "
        "(docs/organizers/stress.md): "
        "{families: {name: {score, ratio, flip_rate, clean, rows}}, mean_ratio, worst_family, "
        "split, rows, run, clean_run, skipped}; null for a prediction file (robustness_state "
        "needs_algorithm) or until its stress run has finished (pending).",
    )
    robustness_state = serializers.CharField(
        default="needs_algorithm",
        help_text="ready (figures), pending (its stress run is queued or running, or the "
        "stress tick queues it within a minute), failed (its stress run failed: final; "
        "robustness_reason says why), needs_algorithm (a prediction file), none (no stress "
        "run comes; robustness_reason says why) or hidden (a team's entry on a ladder board's "
        "public split, until the reveal: robustness_reason says why).",
    )
    robustness_reason = serializers.CharField(
        allow_null=True,
        default=None,
        help_text="failed: the stress run's error; none: why no stress run comes; pending: "
        "what it waits for; hidden: why a ladder board withholds it; else null.",
    )
    transitivity_violations = serializers.FloatField(
        allow_null=True,
        default=None,
        help_text="Matching: the share of the pairs its matches imply (a~b, b~c => a~c) "
        "that it predicts non-matches; lower is more consistent.",
    )

    shown_score = serializers.FloatField(
        allow_null=True,
        help_text="The public score the board shows for the entry (docs/organizers/ladder.md): "
        "on a "
        "ladder board the team's shown score, which moves only when an entry climbs; on a "
        "plain board its exact score; null for a reference.",
    )
    climbed = serializers.BooleanField(
        allow_null=True,
        help_text="True for a team's entry: the board shows the entry that last moved the "
        "team's shown score; null for a reference.",
    )
    exact_score = serializers.FloatField(
        allow_null=True,
        help_text="Organizers, on a ladder board's public split: the entry's exact public "
        "score; null for everyone else.",
    )
    withheld = serializers.CharField(
        allow_null=True,
        default=None,
        help_text="Why the entry's figures of the exact public rows (score and rank "
        "intervals, tied_with_best, nfr/pfr, opis, robustness, prize_eligible) are null: a "
        "team's entry on a ladder board's public split, for a reader who may not see exact "
        "public scores, until the reveal (docs/organizers/ladder.md); null otherwise.",
    )

    def get_rank_set(self, entry) -> list[int] | None:
        return rank_set_of(row=entry)

    def get_prize_eligible(self, entry) -> bool | None:
        """False above the track's NFR limit for the prize; null for references (and on a
        ladder board for participants: the limit reads the public flips)."""
        if entry.rank is None or entry.prize_ineligible is None:
            return None
        return not entry.prize_ineligible


class TrackEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField()
    team = serializers.CharField()
    team_id = serializers.IntegerField()
    score = serializers.FloatField(
        help_text="Mean primary score over the track's ranked tasks (missing = 0; a task "
        "whose entry is queued or running is left out until scored: see partial)."
    )
    is_baseline = serializers.BooleanField()
    task_scores = serializers.DictField(child=serializers.FloatField(allow_null=True))
    task_ranks = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Ranked tasks without an entry (each counts 0)."
    )
    cells = serializers.DictField(
        child=serializers.ChoiceField(choices=["scored", "missing", "queued", "running"]),
        help_text="Each task's cell: scored, missing (counts 0), or queued / running (its "
        "entry is on its way: left out of score).",
    )
    partial = serializers.BooleanField(
        help_text="True while a ranked task's entry is queued or running: score is the mean "
        "over the other tasks."
    )
    prize_eligible = serializers.BooleanField(
        allow_null=True, help_text="False above the track's NFR limit on some task; null: baseline."
    )
    p_first = serializers.FloatField(
        allow_null=True,
        help_text="Share of resamples (rows within tasks, tasks within the track) in which the "
        "team is first; null: baseline, or group_reason (a track with a ladder task's public "
        "split, for all but organizers, until the reveal).",
    )
    p_first_mc_error = serializers.FloatField(
        allow_null=True, help_text="Monte Carlo standard error of p_first."
    )
    rank_interval = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        min_length=2,
        max_length=2,
        help_text="The ranks consistent with every pairwise decision (simultaneous, at the "
        "challenge's confidence level); null: baseline, or group_reason.",
    )
    group = serializers.IntegerField(
        allow_null=True,
        help_text="1: cannot be separated from #1 (then 2, 3...), by group_method; null: "
        "baseline, or group_reason.",
    )
    rank_set = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        min_length=2,
        max_length=2,
        help_text="Simultaneous 95% rank set from a bootstrap of the track's tasks (every "
        "team's holds at once); null: baseline, or rank_set_reason.",
    )
    tier = serializers.IntegerField(
        allow_null=True, help_text="The team's tier (1 = best): blocks of overlapping rank sets."
    )


class PairSerializer(serializers.Serializer):
    a = serializers.CharField(help_text="The team with the better (or equal) track mean.")
    b = serializers.CharField()
    a_id = serializers.IntegerField()
    b_id = serializers.IntegerField()
    difference = serializers.FloatField(help_text="Track mean of a minus b's.")
    ci = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        min_length=2,
        max_length=2,
        help_text="Interval of the difference from this pair's own paired differences (per "
        "task, or per row resample within the tasks: pairwise_basis), Bonferroni-adjusted "
        "so that every pair's holds at once; null: reason.",
    )
    verdict = serializers.ChoiceField(
        choices=["better", "worse", "equivalent", "undecided"],
        help_text="From a's side: equivalent when ci lies within +- equivalence_margin, else "
        "better above 0, worse below 0, else undecided.",
    )
    reason = serializers.CharField(
        allow_null=True, required=False, help_text="Why ci is null for this pair."
    )


class TaskLeaderboardApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        task = serializers.CharField()
        split = serializers.CharField()
        primary_metric = serializers.CharField()
        direction = serializers.ChoiceField(
            choices=["higher", "lower"], help_text="Which way the primary metric is better."
        )
        metrics = serializers.DictField(
            child=MetricSerializer(), help_text="Label and direction of every metric shown."
        )
        primary_reference = serializers.CharField(
            allow_null=True, help_text="The reference nfr and pfr are measured against."
        )
        prize_max_nfr = serializers.FloatField(
            allow_null=True, help_text="The track's NFR limit for the prize (null: none)."
        )
        mode = serializers.ChoiceField(
            choices=list(board_modes.MODES),
            help_text="The public board's mode (docs/organizers/ladder.md): plain, ladder, "
            "ladder-bootstrap or ladder-step. On the public split of a ladder board a "
            "participant reads shown scores only: score == shown_score, no interval, flip or "
            "exact metric.",
        )
        entries = TaskEntrySerializer(many=True)
        tiers = serializers.ListField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="The teams in tiers, best first (each in board order): the blocks of "
            "overlapping rank sets. Every team of a tier is better than every team of a later "
            "tier, all at once at 95%. Empty until the sets are computed, or when withheld.",
        )

    @extend_schema(
        parameters=[SPLIT_PARAMETER, PHASE_PARAMETER],
        responses={
            200: OutputSerializer,
            **split_refusal_responses(),
            **phase_refusal_responses(),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        task = task_get_or_404(slug=slug)
        split = api_split(request, task.track.challenge).split
        read = api_board_read(request=request, challenge=task.track.challenge)
        # On a ladder board's public split a reader who may see exact scores gets another
        # payload: its own key (docs/organizers/ladder.md).
        laddered = split == "public" and task_board_mode(task=task) != board_modes.PLAIN
        exact = laddered and not board_hides(task=task, split=split, user=request.user)
        view = read.parts(f"{split}:exact" if exact else split)
        return board_cache.api_response(
            request=request,
            scope=board_cache.TASK,
            pk=task.pk,
            split=view,
            compute=lambda: _task_payload(task, split, request.user, read),
        )


class TrackLeaderboardApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        track = serializers.CharField()
        split = serializers.CharField()
        tasks = serializers.ListField(child=serializers.CharField())
        direction = serializers.ChoiceField(
            choices=["higher", "lower"], help_text="The mean primary score: higher is better."
        )
        unranked_tasks = serializers.ListField(
            child=serializers.CharField(),
            help_text="Tasks no team has an entry on: not in any mean, P(first) or group.",
        )
        entries = TrackEntrySerializer(many=True)
        group_method = serializers.CharField(
            help_text="How groups, rank intervals and pairwise intervals are computed: "
            "paired-t-bonferroni (each pair's per-task differences, a paired t interval, "
            "3 tasks or more) or paired-rows-bonferroni (fewer tasks: each pair's differences "
            "over resamples of the rows within the tasks); Bonferroni over every pair, so "
            "all hold at once."
        )
        group_reason = serializers.CharField(
            allow_null=True,
            help_text="Why groups and intervals are null (also P(first) and the pairwise "
            "verdicts when a task of the track has a ladder board whose exact public rows they "
            "would resample, for all but organizers, until the reveal).",
        )
        equivalence_margin = serializers.FloatField()
        pairwise_teams = serializers.IntegerField(
            help_text="pairwise lists the pairs among this many best ranked teams."
        )
        pairwise_basis = serializers.ChoiceField(
            choices=["tasks", "rows"],
            allow_null=True,
            help_text="tasks: the verdicts are claims about tasks like these; rows: about "
            "these tasks' test rows only (a track of fewer than 3 tasks). Null: no ranking.",
        )
        pairwise_note = serializers.CharField(
            allow_null=True, help_text="The basis and the adjustment of the intervals, in words."
        )
        pairwise = PairSerializer(many=True)
        tiers = serializers.ListField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="The teams in tiers, best first: every team of a tier is better than "
            "every team of a later tier, all at once at 95%. Empty: rank_set_reason.",
        )
        rank_set_reason = serializers.CharField(
            allow_null=True, help_text="Why the track has no rank sets (null: it has them)."
        )

    @extend_schema(
        parameters=[SPLIT_PARAMETER, PHASE_PARAMETER],
        responses={
            200: OutputSerializer,
            **split_refusal_responses(),
            **phase_refusal_responses(),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
        split = api_split(request, track.challenge).split
        read = api_board_read(request=request, challenge=track.challenge)
        view = track_view(track=track, split=split, user=request.user)
        return board_cache.api_response(
            request=request,
            scope=board_cache.TRACK,
            pk=track.pk,
            split=read.parts(view),
            compute=lambda: _track_payload(track, split, read, request.user),
        )


def _task_payload(task, split: str, user, read=None) -> dict:
    """The task board's JSON (the same for every viewer who may see ``split``, and on a
    ladder board's public split for every viewer who may see exact scores, or not:
    ``leaderboard.boards.shown``)."""
    board = task_board_for(task=task, split=split, user=user, read=read)
    entries = board.rows
    return {
        "task": task.slug,
        "split": split,
        "mode": task_board_mode(task=task),
        "primary_reference": board.primary_name,
        "prize_max_nfr": board.prize_max_nfr,
        "primary_metric": task.primary_metric,
        "direction": metric_direction(task.primary_metric),
        "metrics": describe_metrics(_metric_names(task.primary_metric, entries)),
        # plain dicts: cached (pickled) without the serializer
        "entries": [dict(e) for e in TaskEntrySerializer(entries, many=True).data],
        "tiers": [[row.team.name for row in tier] for tier in board_tiers(rows=entries)],
    }


def _track_payload(track: Track, split: str, read, user) -> dict:
    """The track board's JSON (the same for every viewer allowed to see ``split``, reading the
    same phase: ``read``, and on a public split with a laddered task for every viewer who may
    see its exact figures, or not: ``leaderboard.boards.track_shown``)."""
    if read.maintained:
        board = track_board_cached(track=track, split=split)
        first_board = track_first_for(track=track, split=split, user=user)
        sets = track_rank_sets(track=track, split=split)
    else:
        board = phase_track_board(track=track, split=split, read=read)
        first_board, sets = EMPTY, phase_track_rank_sets()
    first = first_board.teams
    entries = [
        {
            "rank": row.rank,
            "position": row.position,
            "team": board.teams[row.team_id].name,
            "team_id": row.team_id,
            "score": row.mean_score,
            "is_baseline": row.is_baseline,
            "task_scores": dict(row.task_scores),
            "task_ranks": dict(row.task_ranks),
            "missing": list(row.missing),
            "cells": dict(row.cells),
            "partial": row.partial,
            "prize_eligible": (
                None if row.is_baseline else row.team_id not in board.prize_ineligible
            ),
            **first_fields(first=first.get(row.team_id)),
            **team_rank_set_fields(sets, row.team_id),
        }
        for row in board.rows
    ]
    return {
        "track": track.slug,
        "split": split,
        "tasks": [t.slug for t in board.tasks],
        "unranked_tasks": list(board.unranked),
        "direction": "higher",  # the mean of track values (leaderboard.core.track)
        "entries": entries,
        **comparison_fields(
            board=first_board, names={tid: team.name for tid, team in board.teams.items()}
        ),
        "tiers": [[board.teams[tid].name for tid in tier] for tier in sets.tiers],
        "rank_set_reason": sets.reason,
    }
