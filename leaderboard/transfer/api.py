"""``GET /api/v1/tracks/<slug>/transfer/``: the transfer matrix as JSON
(docs/architecture.md §9, §12).

The same matrix as the page (:mod:`leaderboard.transfer.matrix`): one cell per algorithm and task
with a finished run that says something about the algorithm, ``status`` ``succeeded``
(with ``score``, and ``delta`` and ``ci`` against the task's baseline when it has one) or
``failed`` (with its ``failure`` category, also in ``error``: ``time limit``, ``memory``,
``resource limit``, ``exit code``, ``invalid output`` or ``platform error``, from the run's
structured fields, never its message or log, which only its team and the organizers read on
their own pages: :mod:`algorithms.failures`, issue 51); else, a ``queued`` or ``running``
run is a cell with that status. A task an algorithm has no run on has no cell ("not run").
A cell without a ``delta`` says why in ``reason``; ``baselines`` gives each task's AutoGluon
baseline state (``scored``, ``queued``, ``running``, ``failed``, ``not run``): a delta waits
for its score.

On a ladder board's public split (docs/organizers/ladder.md), for a reader who may not see its
exact public scores, a team's cell keeps its run, ``status`` and ``failure`` but its ``score``,
``delta`` and ``ci`` are null and ``reason`` says why; ``withheld`` names those tasks and the
reason, and the means, the decomposition and the frontier use only the cells shown (a
withheld task's difficulty: ``effect`` and ``ci`` null with that ``reason``).

Beside the cells: ``decomposition`` (algorithm effects, task difficulty, the interaction's
share and each team's home advantage, docs/architecture.md §12) and ``frontier`` (quality
against CPU time), both from :mod:`leaderboard.transfer.benchmark` over the same matrix, so over
the same split.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from algorithms.failures import CATEGORIES
from challenges.api.errors import error_responses
from challenges.api.split import SPLIT_PARAMETER, api_split, split_refusal_responses
from challenges.models import Track
from leaderboard.boards.shown import hidden_phases, hidden_tasks
from leaderboard.cache import transfer_cache
from leaderboard.transfer.benchmark import (
    cell_interval,
    decomposition_payload,
    frontier_payload,
    transfer_decomposition,
    transfer_frontier,
)
from leaderboard.transfer.matrix import TransferMatrix, transfer_matrix
from leaderboard.transfer.shown import (
    baseline_states,
    shown_cells,
    transfer_robustness,
    withheld_note,
    withheld_view,
)


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
    status = serializers.ChoiceField(choices=["succeeded", "failed", "queued", "running"])
    error = serializers.CharField(
        help_text="A failed run's category (as failure; empty when it did not fail): never "
        "the run's log or message, which its team reads on the algorithm's page."
    )
    failure = serializers.ChoiceField(
        choices=list(CATEGORIES), allow_null=True, help_text="A failed run's category."
    )
    score = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(allow_null=True, help_text="score minus the baseline's")
    ci = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="95% interval of delta"
    )
    reason = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Why a scored cell's ci is null (its delta is the same on every row resample).",
    )
    cpu_seconds = serializers.FloatField(allow_null=True)
    is_organizer_run = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True,
        help_text="Why `delta` is null (the run is not finished, failed, the task's "
        "baseline has no score yet, or the cell is withheld: a ladder board's exact public "
        "score, or a run of a blind phase, hidden from this reader until the reveal); null "
        "when there is a delta.",
    )

    robustness = serializers.JSONField(
        allow_null=True,
        required=False,
        help_text="The robustness view (docs/organizers/stress.md): the method's stress run on the "
        "task, "
        "{families, mean_ratio, worst_family, ...}; null until one has finished.",
    )


class TransferBaselineSerializer(serializers.Serializer):
    task = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["scored", "queued", "running", "failed", "not run"],
        help_text="The task's AutoGluon baseline: deltas exist once it is scored.",
    )
    run = serializers.IntegerField(allow_null=True, help_text="The baseline run it speaks of.")
    error = serializers.CharField(
        help_text="A failed baseline's category (algorithms.failures; empty otherwise)."
    )


class IntervalField(serializers.ListField):
    child = serializers.FloatField()

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, min_length=2, max_length=2, **kwargs)


REASON = serializers.CharField(
    allow_null=True, help_text="Why ci is null: what the data cannot support (null when given)."
)


class AlgorithmEffectSerializer(serializers.Serializer):
    algorithm = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField()
    effect = serializers.FloatField(
        allow_null=True, help_text="Delta above the average algorithm's, on the same tasks."
    )
    ci = IntervalField(
        help_text="95% t interval of the effect from the two-way model (model); null: see reason"
    )
    reason = REASON
    adjusted_delta = serializers.FloatField(allow_null=True)
    adjusted_ci = IntervalField(help_text="95% interval of the adjusted delta (Welch)")
    n_tasks = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class TaskDifficultySerializer(serializers.Serializer):
    task = serializers.CharField()
    effect = serializers.FloatField(
        allow_null=True, help_text="Delta above the average task's (negative: harder)."
    )
    ci = IntervalField(help_text="95% interval: the two-way model's and the shared row noise")
    reason = REASON
    n_algorithms = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class HomeAdvantageSerializer(serializers.Serializer):
    team = serializers.CharField()
    team_id = serializers.IntegerField()
    value = serializers.FloatField(
        allow_null=True, help_text="Extra delta of its algorithms on the tasks it contributed."
    )
    ci = IntervalField(help_text="95% t interval from the two-way model with home indicators")
    reason = REASON
    own_cells = serializers.IntegerField()
    other_cells = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class DecompositionSerializer(serializers.Serializer):
    algorithm_effects = AlgorithmEffectSerializer(many=True)
    task_difficulty = TaskDifficultySerializer(many=True)
    interaction_share = serializers.FloatField(allow_null=True)
    home_advantage = HomeAdvantageSerializer(many=True)
    interaction_share_ci = IntervalField(help_text="Always null: the share describes the cells.")
    interaction_share_reason = serializers.CharField(allow_null=True)
    noise_share = serializers.FloatField(
        allow_null=True,
        help_text="The part of the deltas' variance that row noise alone puts in the "
        "interaction (from the cells' row resamples).",
    )
    noise_share_reason = serializers.CharField(allow_null=True)
    residual_df = serializers.IntegerField(
        help_text="Cells - algorithms - tasks + 1: the two-way model's residual degrees of freedom."
    )
    residual_sd = serializers.FloatField(
        allow_null=True, help_text="The two-way model's error SD (interaction and row noise)."
    )
    home_residual_df = serializers.IntegerField(allow_null=True, required=False)
    model = serializers.CharField(
        help_text="The model of the effects: two-way-ols (delta = mean + algorithm + task + "
        "error, least squares, sum-to-zero effects, t intervals on residual_df)."
    )
    models = serializers.DictField(
        child=serializers.CharField(), help_text="The model each figure comes from."
    )
    mean = serializers.FloatField(allow_null=True)
    mean_ci = IntervalField(help_text="t interval over the tasks' levels (tasks - 1 df)")
    mean_reason = serializers.CharField(allow_null=True)
    n_resamples = serializers.IntegerField()
    alpha = serializers.FloatField()
    note = serializers.CharField(allow_null=True)
    updating = serializers.BooleanField(
        help_text="The track's last fit, of the matrix before its newest cells: a worker is"
        " fitting this one."
    )
    withheld = serializers.JSONField(
        allow_null=True,
        help_text='{"tasks", "reason"}: the tasks whose cells this fit leaves out (ladder '
        "boards, for a reader who may not see their exact public scores); null: none.",
    )


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
        baselines = TransferBaselineSerializer(many=True)
        decomposition = DecompositionSerializer()
        frontier = FrontierSerializer()
        withheld = serializers.JSONField(
            allow_null=True,
            help_text='{"tasks": [slug, ...], "reason"}: the tasks with a ladder board whose '
            "teams' cells keep their status but not their score, delta or interval for this "
            "reader until the reveal (docs/organizers/ladder.md), or (tasks empty) the cells "
            "of runs made in a blind phase, withheld until the reveal "
            "(docs/participants/phases.md); null when nothing is withheld.",
        )

    @extend_schema(
        operation_id="track_transfer",
        parameters=[SPLIT_PARAMETER],
        responses={
            200: OutputSerializer,
            **split_refusal_responses(),
            **error_responses({404: "No such track."}),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
        split = api_split(request, track.challenge).split  # who may see it: before the cache
        # ...and which cells (a ladder board's, docs/organizers/ladder.md): part of the key.
        tasks = list(track.tasks.all())
        hidden = frozenset(hidden_tasks(tasks=tasks, split=split, user=request.user))
        blind = hidden_phases(tasks=tasks, user=request.user)  # a blind phase's cells (0066)
        view = withheld_view(hidden=hidden, phases=blind)

        def payload() -> tuple[dict, bool]:
            matrix = transfer_matrix(track=track, split=split, hidden=hidden, hidden_phases=blind)
            answer = transfer_payload(matrix=matrix)
            return answer, not answer["decomposition"]["updating"]

        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(renderer, JSONRenderer) and request.accepted_media_type == "application/json":
            # Plain JSON (what clients ask for): the rendered bytes are what is kept.
            def rendered() -> tuple[bytes, bool]:
                answer, keepable = payload()
                return renderer.render(answer, "application/json"), keepable

            body = transfer_cache.kept(
                track=track,
                parts=(
                    "api-json",
                    split,
                    view,
                ),
                compute=rendered,
            )
            return HttpResponse(body, content_type="application/json")
        return Response(
            transfer_cache.kept(
                track=track,
                parts=(
                    "api",
                    split,
                    view,
                ),
                compute=payload,
            )
        )


def transfer_payload(*, matrix: TransferMatrix) -> dict:
    """The matrix as the API's JSON."""
    algorithms, cells = [], []
    robustness = transfer_robustness(matrix=matrix)
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
        for task, shown in zip(matrix.tasks, shown_cells(matrix=matrix, row=row), strict=True):
            cell, run = shown.cell, shown.run
            if run is None:
                continue
            cells.append(
                {
                    "algorithm": algorithm.pk,
                    "version": run.version.number,
                    "task": task.slug,
                    "run": run.pk,
                    "status": run.status,
                    # A category (algorithms.failures), never the run's log: this is public.
                    "error": shown.failure or "",
                    "failure": shown.failure,
                    "score": shown.score,
                    "delta": cell.delta if cell else None,
                    **cell_interval(cell=cell),
                    "cpu_seconds": run.cpu_seconds,
                    "is_organizer_run": run.is_organizer_run,
                    "reason": shown.reason,
                    "robustness": robustness.get(run.pk),
                }
            )
    frontier_rows, frontier = transfer_frontier(matrix=matrix)
    return {
        "track": matrix.track.slug,
        "split": matrix.split,
        "tasks": [task.slug for task in matrix.tasks],
        "algorithms": algorithms,
        "cells": cells,
        "baselines": [
            {
                "task": task.slug,
                "status": state.status,
                "run": state.run.pk if state.run else None,
                "error": state.error,
            }
            for task, state in zip(matrix.tasks, baseline_states(matrix=matrix), strict=True)
        ],
        "decomposition": decomposition_payload(result=transfer_decomposition(matrix=matrix)),
        "frontier": frontier_payload(rows=frontier_rows, frontier=frontier),
        "withheld": withheld_note(matrix=matrix),
    }
