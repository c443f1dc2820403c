"""Final standings API (DESIGN §10)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenge_platform.models import Challenge

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


class TrackStandingsSerializer(serializers.Serializer):
    track = serializers.CharField()
    prize = serializers.CharField()
    entries = StandingEntrySerializer(many=True)


class TaskStandingsSerializer(serializers.Serializer):
    task = serializers.CharField()
    metric = serializers.CharField()
    direction = serializers.ChoiceField(choices=["higher", "lower"])
    entries = StandingEntrySerializer(many=True)


class ChallengeStandingsApi(APIView):
    """The frozen final standings; ``frozen_at: null`` and no entries before the end."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        frozen_at = serializers.DateTimeField(allow_null=True)
        sha256 = serializers.CharField(
            allow_null=True,
            help_text="sha256 of the canonical JSON (sorted keys, no spaces) of this object "
            "without its sha256 key.",
        )
        tracks = TrackStandingsSerializer(many=True)
        tasks = TaskStandingsSerializer(many=True)

    @extend_schema(
        responses={200: OutputSerializer, 404: OpenApiResponse(description="No such challenge.")}
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        return Response(selectors.standings_document(challenge=challenge))
