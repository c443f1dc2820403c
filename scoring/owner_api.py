"""API of the task-owner role (docs/architecture.md §10): the team that contributed a
task's data manages that task only. Organizers may do the same on every task. The check is
``datasets.selectors.task_manage_refusal`` (a hidden or disqualified owner team manages
nothing).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenge_platform.api.errors import error_responses
from challenge_platform.split_access import private_visible
from datasets.formats import croissant_url
from datasets.forms import staged_upload, too_big_message
from datasets.models import Task, TaskVersion
from datasets.selectors import task_get_or_404, task_manage_refusal
from datasets.services import TaskReplaceError, task_bundle_replace
from datasets.versions import task_versions, version_changes
from scoring.models import Submission
from scoring.selectors import submission_visible_scores


class NotTaskOwner(PermissionDenied):
    default_code = "not_task_owner"


def managed_task_or_refuse(request: Request, slug: str) -> Task:
    """The task ``slug`` if the caller manages it; 404 when there is none, else 403."""
    task = Task.objects.select_related("track__challenge", "owner_team").filter(slug=slug).first()
    if task is None:
        raise Http404("There is no such task.")
    refusal = task_manage_refusal(task=task, user=request.user)
    if refusal is not None:
        raise NotTaskOwner({"code": refusal.code, "detail": refusal.message})
    return task


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
        if not private_visible(challenge=challenge, user=self.request.user):
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


class TaskVersionPublicSerializer(serializers.Serializer):
    """A data version as anyone reads it (docs/participants/formats.md)."""

    class ChangesSerializer(serializers.Serializer):
        class CountsSerializer(serializers.Serializer):
            added = serializers.IntegerField()
            removed = serializers.IntegerField()
            relabelled = serializers.IntegerField()

        train = CountsSerializer(help_text="train rows, by id; relabelled: another label")
        test = CountsSerializer(help_text="test rows, by id; relabelled: another true label")

    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    note = serializers.CharField(help_text="Why the data changed (the reason given)")
    reason = serializers.CharField(source="note", help_text="The same as note")
    train_rows = serializers.IntegerField()
    test_rows = serializers.IntegerField()
    current = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField(
        help_text="Rows added, removed and relabelled since the version before (null for the"
        " first version)"
    )
    croissant = serializers.SerializerMethodField(
        help_text="This version's Croissant 1.1 description (its files, when you may download)"
    )

    def get_current(self, version: TaskVersion) -> bool:
        return version.number == version.task.data_version

    @extend_schema_field(ChangesSerializer(allow_null=True))
    def get_changes(self, version: TaskVersion) -> dict | None:
        return version_changes(version=version)

    def get_croissant(self, version: TaskVersion) -> str:
        request = self.context["request"]
        return croissant_url(
            task=version.task, version=version.number, absolute=request.build_absolute_uri
        )


class TaskVersionOutputSerializer(TaskVersionPublicSerializer):
    """A data version as its task's owners and organizers read it: who uploaded it, and the
    uploaded bundle's sha256, too."""

    created_by = serializers.SerializerMethodField()
    sha256 = serializers.CharField(help_text="Of the uploaded bundle (empty for older imports)")

    def get_created_by(self, version: TaskVersion) -> str | None:
        return version.created_by.get_username() if version.created_by else None


class TaskVersionListedSerializer(TaskVersionPublicSerializer):
    """The list's items as documented: the owner-only fields are there for owners only."""

    created_by = serializers.CharField(
        required=False, allow_null=True, help_text="Who uploaded it (owners, organizers)"
    )
    sha256 = serializers.CharField(
        required=False, help_text="Of the uploaded bundle (owners, organizers)"
    )


class BundleRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")
    code = serializers.CharField(help_text="`bundle_invalid` (the bundle) or `invalid` (the form)")
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Every problem found; nothing was changed."
    )


class TaskReplacedSerializer(TaskVersionOutputSerializer):
    message = serializers.CharField(
        help_text="What happens next (every submission re-scored; the AutoGluon baseline "
        "queued again by itself unless the platform's BENCHMARK_ON_ARRIVAL is off)"
    )


def _bundle_refused(problems: list[str], *, code: str = "bundle_invalid") -> Response:
    count = len(problems)
    return Response(
        {
            "code": code,
            "detail": f"The data was not replaced ({count} problem{'s' if count != 1 else ''}).",
            "problems": problems,
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class TaskVersionListApi(APIView):
    """GET: the versions of a task's data, newest first, with what changed and each one's
    Croissant description: anyone (its owners and organizers also read who uploaded each
    and the bundle's sha256). POST: replace the data by a new bundle version (``.zip``;
    same slug and kind), which re-scores every submission of the task: its owners and
    organizers only."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self):
        if self.request.method == "GET":
            return [AllowAny()]
        return super().get_permissions()

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="The new bundle as a .zip")
        reason = serializers.CharField(
            max_length=1000,
            required=False,
            allow_blank=True,
            default="",
            help_text="Required (a missing one is listed with the bundle's problems): kept in "
            "the audit log; every team is re-scored",
        )

    @extend_schema(
        operation_id="task_version_list",
        responses={
            200: TaskVersionListedSerializer(many=True),
            **error_responses({404: "no such task"}),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        task = task_get_or_404(slug=slug)
        manages = task_manage_refusal(task=task, user=request.user) is None
        serializer = TaskVersionOutputSerializer if manages else TaskVersionPublicSerializer
        versions = task_versions(task=task)
        return Response(serializer(versions, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="task_version_create",
        request=InputSerializer,
        responses={
            201: TaskReplacedSerializer,
            400: OpenApiResponse(
                BundleRefusedSerializer,
                "the bundle (every problem listed), the reason or the form was refused",
            ),
            **error_responses({403: "not an owner of this task"}),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        task = managed_task_or_refuse(request, slug)
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.BUNDLE_MAX_BYTES + 64 * 1024:
            return _bundle_refused([too_big_message(declared)], code="invalid")
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return _bundle_refused(
                [f"{field}: {m}" for field, ms in serializer.errors.items() for m in ms],
                code="invalid",
            )
        upload, reason = serializer.validated_data["file"], serializer.validated_data["reason"]
        if upload.size > settings.BUNDLE_MAX_BYTES:
            return _bundle_refused([too_big_message(upload.size)], code="invalid")
        try:
            with staged_upload(upload) as source:
                replaced = task_bundle_replace(
                    task=task, source=source, actor=request.user, reason=reason
                )
        except TaskReplaceError as exc:
            return _bundle_refused(exc.problems)
        version = replaced.version
        version.task = replaced.task
        data = {
            **TaskVersionOutputSerializer(version, context={"request": request}).data,
            "message": replaced.summary(),
        }
        return Response(data, status=status.HTTP_201_CREATED)
