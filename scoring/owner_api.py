"""API of the task-owner role (DESIGN §10): the team that contributed a task's data manages
that task only. Organizers may do the same on every task. The check is
``datasets.selectors.task_manageable``.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenge_platform.api.errors import error_responses
from datasets.models import Task
from datasets.selectors import task_manageable
from scoring.baselines.services import BaselineRunRefused, baseline_run_queue
from scoring.models import Submission
from scoring.selectors import submission_visible_scores


class NotTaskOwner(PermissionDenied):
    default_code = "not_task_owner"


def managed_task_or_refuse(request: Request, slug: str) -> Task:
    """The task ``slug`` if the caller manages it; 404 when there is none, else 403."""
    task = Task.objects.select_related("track__challenge", "owner_team").filter(slug=slug).first()
    if task is None:
        raise Http404("There is no such task.")
    if not task_manageable(task=task, user=request.user):
        raise NotTaskOwner(
            {
                "code": "not_task_owner",
                "detail": f"Only organizers and members of the team that contributed "
                f"'{task.slug}' (its task owner) may manage this task.",
            }
        )
    return task


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


class TaskSubmissionListApi(generics.ListAPIView):
    """Every team's submissions to a task, for its owners once private scores are revealed
    (organizers: always). Notes, files and uploaders stay with their teams."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        task = serializers.CharField(source="task.slug")
        team = serializers.CharField(source="team.name")
        status = serializers.CharField()
        scores = serializers.SerializerMethodField()
        created_at = serializers.DateTimeField()
        is_final = serializers.BooleanField()

        def get_scores(self, submission: Submission) -> dict:
            return submission_visible_scores(
                submission=submission, user=self.context["request"].user
            )

    serializer_class = OutputSerializer

    @extend_schema(
        responses={
            200: OutputSerializer(many=True),
            **error_responses(
                {403: "not an owner of this task, or the private leaderboard is not revealed"}
            ),
        }
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        task = managed_task_or_refuse(self.request, self.kwargs["slug"])
        challenge = task.track.challenge
        if not self.request.user.is_staff and not challenge.private_visible():
            raise NotTaskOwner(
                {
                    "code": "not_revealed",
                    "detail": "A task's owners see every team's submissions once the private "
                    "leaderboard is revealed.",
                }
            )
        return (
            Submission.objects.filter(task=task, team__is_hidden=False)
            .select_related("task", "team")
            .order_by("-created_at", "-pk")
        )
