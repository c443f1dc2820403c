"""The task owner's baseline endpoint (docs/architecture.md §10):
``POST tasks/<slug>/baselines/``.

It lives here, above scoring, because a baseline is an algorithm run; who may manage a task
is scoring's one check (``scoring.owner_api.managed_task_or_refuse``).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from algorithms.services.baseline import BaselineRunRefused, baseline_run_queue
from challenges.api.errors import error_responses
from scoring.owner_api import managed_task_or_refuse


class TaskBaselineQueueApi(APIView):
    """Queue the AutoGluon baseline of a task (its owners and organizers)."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        task = serializers.CharField(source="task.slug")
        status = serializers.CharField()

    @extend_schema(
        request=None,
        responses={
            202: OutputSerializer,
            **error_responses(
                {
                    403: "not an owner of this task",
                    409: "a baseline of this task is already queued",
                }
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        task = managed_task_or_refuse(request, slug)
        try:
            run = baseline_run_queue(task=task, actor=request.user)
        except BaselineRunRefused as exc:
            return Response(
                {"code": "baseline_refused", "detail": str(exc)}, status=status.HTTP_409_CONFLICT
            )
        return Response(self.OutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)
