"""Final standings API (docs/architecture.md §10)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.errors import error_responses
from challenges.api.split import SPLIT_PARAMETER, api_split, split_refusal_responses
from challenges.models import Challenge
from common.splits import BOARD_SPLITS
from datasets.models import Task
from kinds import metric_direction

from . import selectors


class MethodSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.CharField()


class StandingEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    team = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    method = MethodSerializer(allow_null=True)
    is_baseline = serializers.BooleanField()
    prize_eligible = serializers.BooleanField(
        allow_null=True,
        required=False,
        help_text="Track entries: false above the track's NFR limit for the prize.",
    )
    rank_set = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        required=False,
        min_length=2,
        max_length=2,
        help_text="Track entries: the joint 95% rank set over the track's tasks (every team's "
        "holds at once); null: a baseline, fewer than 10 ranked tasks, or a ladder board's "
        "public view. Absent from standings frozen before rank sets.",
    )
    tier = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="Track entries: the tier (1 = best) of the joint rank sets.",
    )


class TrackStandingsSerializer(serializers.Serializer):
    track = serializers.CharField()
    prize = serializers.CharField()
    prize_max_nfr = serializers.FloatField(allow_null=True, required=False)
    entries = StandingEntrySerializer(many=True)


class TaskStandingsSerializer(serializers.Serializer):
    task = serializers.CharField()
    metric = serializers.CharField()
    direction = serializers.ChoiceField(choices=["higher", "lower"])
    split = serializers.ChoiceField(choices=list(BOARD_SPLITS), allow_null=True, required=False)
    entries = StandingEntrySerializer(many=True)


class ChallengeStandingsApi(APIView):
    """The frozen final standings; ``frozen_at: null``, ``split: null`` and no entries before
    the end.

    Frozen is not revealed: until the private leaderboard is revealed (organizers' action or
    the challenge's ``reveal_at``), the entries are the public split's at the end (``"split":
    "public", "revealed": false``) and ``sha256`` is the digest of the sealed private
    snapshot. From the reveal the document is that snapshot in full (``"split": "private",
    "revealed": true``) and ``sha256`` verifies it: the SHA-256 of the canonical JSON (UTF-8,
    keys sorted, no spaces, floats in shortest round-trip form) of this object without its
    ``sha256`` key. Organizers read the private snapshot before the reveal too, marked
    ``"split": "private", "revealed": false`` (with ``"revealed": true`` it is the published
    text ``sha256`` verifies).
    """

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        frozen_at = serializers.DateTimeField(allow_null=True)
        sha256 = serializers.CharField(
            allow_null=True,
            help_text="sha256 of the canonical JSON (sorted keys, no spaces) of the private "
            "snapshot: of this object without its sha256 key once `revealed` is true; before, "
            "of the sealed snapshot published at the reveal.",
        )
        split = serializers.ChoiceField(
            choices=list(BOARD_SPLITS),
            allow_null=True,
            help_text="The split the entries are ranked on: public until the reveal; null "
            "before the freeze, when there are no entries.",
        )
        revealed = serializers.BooleanField(
            help_text="Whether the private leaderboard is revealed, so this is the published "
            "private snapshot (false before the freeze and until the reveal, for everyone: an "
            "organizer then reads the private snapshot, `split: private`, not yet published)."
        )
        tracks = TrackStandingsSerializer(many=True)
        tasks = TaskStandingsSerializer(many=True)

    @extend_schema(
        responses={200: OutputSerializer, **error_responses({404: "No such challenge."})}
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        return Response(selectors.standings_document(challenge=challenge, user=request.user))


class PostChallengeLeaderboardApi(APIView):
    """Each team's best submission made after the challenge ended: a benchmark board,
    marked ``"board": "post-challenge"`` and never part of the standings."""

    permission_classes = [AllowAny]

    class EntrySerializer(serializers.Serializer):
        rank = serializers.IntegerField(allow_null=True)
        position = serializers.IntegerField()
        team = serializers.CharField()
        score = serializers.FloatField(allow_null=True)
        is_baseline = serializers.BooleanField()
        submitted_at = serializers.DateTimeField()

    class OutputSerializer(serializers.Serializer):
        board = serializers.CharField()
        task = serializers.CharField()
        split = serializers.CharField()
        primary_metric = serializers.CharField()
        direction = serializers.ChoiceField(choices=["higher", "lower"])
        entries = serializers.ListField(child=serializers.DictField())
        withheld = serializers.CharField(
            allow_null=True,
            help_text="Why entries is empty: the public split of a ladder board before the "
            "reveal (docs/organizers/ladder.md); null otherwise.",
        )

    @extend_schema(
        parameters=[SPLIT_PARAMETER],
        responses={
            200: OutputSerializer,
            **split_refusal_responses(),
            **error_responses({404: "No such task."}),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        task = get_object_or_404(Task.objects.select_related("track__challenge"), slug=slug)
        split = api_split(request, task.track.challenge).split
        hidden = selectors.post_challenge_hidden(task=task, split=split, user=request.user)
        rows = [] if hidden else selectors.post_challenge_board(task=task, split=split)
        return Response(
            {
                "board": "post-challenge",
                "task": task.slug,
                "split": split,
                "primary_metric": task.primary_metric,
                "direction": metric_direction(task.primary_metric),
                "entries": [
                    {
                        "rank": r.rank,
                        "position": r.position,
                        "team": r.team.name,
                        "score": r.score,
                        "is_baseline": r.is_baseline,
                        "submitted_at": r.submitted_at.isoformat(),
                    }
                    for r in rows
                ],
                "withheld": selectors.POST_CHALLENGE_LADDER if hidden else None,
            }
        )
