"""``GET /api/v1/tracks/<slug>/transfer/``: the transfer matrix as JSON (DESIGN §9, §12).

The same matrix as the page (:mod:`leaderboard.transfer`): one cell per algorithm and task
with a finished run that says something about the algorithm, ``status`` ``succeeded``
(with ``score``, and ``delta`` and ``ci`` against the task's baseline when it has one) or
``failed`` (with the run's ``error``: the run's own failure or its submission's, which the
run follows). A task an algorithm has no such run on has no cell ("not run").
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenge_platform.api.errors import error_responses
from challenge_platform.models import Track

from .api import requested_split
from .transfer import TransferMatrix, run_score, transfer_matrix


class TransferAlgorithmSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField()
    mean_delta = serializers.FloatField(allow_null=True)
    mean_score = serializers.FloatField(allow_null=True)
    covered = serializers.IntegerField(help_text="Tasks with a value (scored, with a baseline).")


class TransferCellSerializer(serializers.Serializer):
    algorithm = serializers.IntegerField()
    version = serializers.IntegerField()
    task = serializers.CharField()
    run = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["succeeded", "failed"])
    error = serializers.CharField(help_text="Why it failed (empty when it succeeded).")
    score = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(allow_null=True, help_text="score minus the baseline's")
    ci = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="95% interval of delta"
    )
    cpu_seconds = serializers.FloatField(allow_null=True)
    is_organizer_run = serializers.BooleanField()


class TrackTransferApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        track = serializers.CharField()
        split = serializers.CharField()
        tasks = serializers.ListField(child=serializers.CharField())
        algorithms = TransferAlgorithmSerializer(many=True)
        cells = TransferCellSerializer(many=True)

    @extend_schema(
        operation_id="track_transfer",
        parameters=[OpenApiParameter("split", str, enum=["public", "private"], required=False)],
        responses={
            200: OutputSerializer,
            **error_responses(
                {
                    400: "split is neither 'public' nor 'private'.",
                    403: "The private rows are hidden until the organizers reveal them.",
                    404: "No such track.",
                }
            ),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
        split, refusal = requested_split(request, track.challenge)
        if refusal is not None:
            return refusal
        return Response(transfer_payload(transfer_matrix(track=track, split=split)))


def _score(run, task, split: str) -> float | None:
    return run_score(run, task, split) if run.status == "succeeded" else None


def transfer_payload(matrix: TransferMatrix) -> dict:
    """The matrix as the API's JSON."""
    algorithms, cells = [], []
    for row in matrix.rows:
        algorithm = row.algorithm
        algorithms.append(
            {
                "id": algorithm.pk,
                "name": algorithm.name,
                "team": algorithm.team.name,
                "mean_delta": row.mean_delta,
                "mean_score": row.mean_score,
                "covered": row.covered,
            }
        )
        for task, cell, run in zip(matrix.tasks, row.cells, row.runs, strict=True):
            if run is None:
                continue
            cells.append(
                {
                    "algorithm": algorithm.pk,
                    "version": run.version.number,
                    "task": task.slug,
                    "run": run.pk,
                    "status": run.status,
                    "error": run.error if run.status == "failed" else "",
                    "score": cell.score if cell else _score(run, task, matrix.split),
                    "delta": cell.delta if cell else None,
                    "ci": [cell.delta_low, cell.delta_high] if cell else None,
                    "cpu_seconds": run.cpu_seconds,
                    "is_organizer_run": run.is_organizer_run,
                }
            )
    return {
        "track": matrix.track.slug,
        "split": matrix.split,
        "tasks": [task.slug for task in matrix.tasks],
        "algorithms": algorithms,
        "cells": cells,
    }
