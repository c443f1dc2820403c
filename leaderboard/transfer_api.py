"""``GET /api/v1/tracks/<slug>/transfer/``: the transfer matrix as JSON (DESIGN §9, §12).

The same matrix as the page (:mod:`leaderboard.transfer`): one cell per algorithm and task
with a finished run that says something about the algorithm, ``status`` ``succeeded``
(with ``score``, and ``delta`` and ``ci`` against the task's baseline when it has one) or
``failed`` (with the run's ``error``: the run's own failure or its submission's, which the
run follows). A task an algorithm has no such run on has no cell ("not run").

Beside the cells: ``decomposition`` (algorithm effects, task difficulty, the interaction's
share and each team's home advantage, DESIGN §12) and ``frontier`` (quality against CPU
time), both from :mod:`leaderboard.benchmark` over the same matrix, so over the same split.
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
from .benchmark import (
    decomposition_payload,
    frontier_payload,
    transfer_decomposition,
    transfer_frontier,
)
from .transfer import TransferMatrix, run_score, transfer_matrix, transfer_robustness


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
    robustness = serializers.JSONField(
        allow_null=True,
        required=False,
        help_text="The robustness view (docs/stress.md): the method's stress run on the task, "
        "{families, mean_ratio, worst_family, ...}; null until one has finished.",
    )


class IntervalField(serializers.ListField):
    child = serializers.FloatField()

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, min_length=2, max_length=2, **kwargs)


class AlgorithmEffectSerializer(serializers.Serializer):
    algorithm = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField()
    effect = serializers.FloatField(
        allow_null=True, help_text="Delta above the average algorithm's, on the same tasks."
    )
    ci = IntervalField(help_text="95% paired bootstrap interval of the effect")
    adjusted_delta = serializers.FloatField(allow_null=True)
    n_tasks = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class TaskDifficultySerializer(serializers.Serializer):
    task = serializers.CharField()
    effect = serializers.FloatField(
        allow_null=True, help_text="Delta above the average task's (negative: harder)."
    )
    ci = IntervalField()
    n_algorithms = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class HomeAdvantageSerializer(serializers.Serializer):
    team = serializers.CharField()
    team_id = serializers.IntegerField()
    value = serializers.FloatField(
        allow_null=True, help_text="Extra delta of its algorithms on the tasks it contributed."
    )
    ci = IntervalField()
    own_cells = serializers.IntegerField()
    other_cells = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class DecompositionSerializer(serializers.Serializer):
    algorithm_effects = AlgorithmEffectSerializer(many=True)
    task_difficulty = TaskDifficultySerializer(many=True)
    interaction_share = serializers.FloatField(allow_null=True)
    home_advantage = HomeAdvantageSerializer(many=True)
    interaction_share_ci = IntervalField()
    mean = serializers.FloatField(allow_null=True)
    mean_ci = IntervalField()
    n_resamples = serializers.IntegerField()
    alpha = serializers.FloatField()
    note = serializers.CharField(allow_null=True)


class FrontierPointSerializer(serializers.Serializer):
    algorithm = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField()
    quality = serializers.FloatField(allow_null=True, help_text="Mean delta over its tasks.")
    cpu_seconds = serializers.FloatField(allow_null=True, help_text="Mean per scored run.")
    on_frontier = serializers.BooleanField()
    dominated_by = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_null=True)


class FrontierSerializer(serializers.Serializer):
    quality = serializers.CharField()
    cost = serializers.CharField()
    points = FrontierPointSerializer(many=True)
    frontier = serializers.ListField(
        child=serializers.IntegerField(), help_text="Algorithm ids on the frontier, cheapest first."
    )


class TrackTransferApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        track = serializers.CharField()
        split = serializers.CharField()
        tasks = serializers.ListField(child=serializers.CharField())
        algorithms = TransferAlgorithmSerializer(many=True)
        cells = TransferCellSerializer(many=True)
        decomposition = DecompositionSerializer()
        frontier = FrontierSerializer()

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
    robustness = transfer_robustness(matrix)
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
                    "robustness": robustness.get(run.pk),
                }
            )
    return {
        "track": matrix.track.slug,
        "split": matrix.split,
        "tasks": [task.slug for task in matrix.tasks],
        "algorithms": algorithms,
        "cells": cells,
        "decomposition": decomposition_payload(transfer_decomposition(matrix)),
        "frontier": frontier_payload(*transfer_frontier(matrix)),
    }
