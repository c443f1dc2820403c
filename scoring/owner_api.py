"""API of the task-owner role (docs/architecture.md §10): the team that contributed a
task's data manages that task only. Organizers may do the same on every task. The check is
``datasets.selectors.task_manage_refusal`` (a hidden or disqualified owner team manages
nothing).
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.errors import error_responses, refusal_parts
from challenges.models import Phase
from challenges.split_access import private_visible
from datasets.formats import croissant_url
from datasets.models import Task, TaskVersion, TaskVersionUpload
from datasets.selectors import task_get_or_404, task_manage_refusal
from datasets.version_uploads import (
    VersionUploadRefused,
    task_version_upload_admission,
    task_version_upload_create,
    task_version_upload_get,
    version_upload_message,
)
from datasets.versions import task_versions, version_changes
from scoring.admission import declared_length
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
    pruned_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When this old version's files were deleted (a task keeps the files of its "
        "TASK_DATA_VERSIONS_KEPT newest versions); null: its files are kept",
    )
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
    phase = serializers.SerializerMethodField(
        help_text="The phase whose own test set this version is (its entries alone are scored "
        "on it; listed to participants from that phase's start); null: the data of every "
        "phase without its own"
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_phase(self, version: TaskVersion) -> str | None:
        return version.phase.slug if version.phase_id else None

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
    code = serializers.CharField(
        help_text="`bundle_invalid` (the reason), `invalid` (the form), `too_large`, the "
        "team's budget (`rate_limited`, `version_limit`: 429; `storage_quota`: 413)"
    )
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Every problem found; nothing was changed."
    )
    retry_after = serializers.DateTimeField(
        required=False, help_text="When the same upload may succeed (a rate or daily limit)"
    )


class TaskVersionUploadSerializer(serializers.Serializer):
    """An uploaded data version and where its check stands (docs/participants/formats.md)."""

    id = serializers.IntegerField()
    task = serializers.CharField(source="task.slug")
    status = serializers.ChoiceField(
        choices=["queued", "checking", "accepted", "refused", "failed"],
        help_text="`queued` and `checking` until a worker has checked the bundle; then "
        "`accepted` (it is the task's data `version`), `refused` (every problem listed, "
        "nothing changed) or `failed` (the platform's fault: `error`)",
    )
    reason = serializers.CharField()
    bundle_name = serializers.CharField(help_text="The uploaded file's name")
    bundle_size = serializers.IntegerField()
    problems = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()
    version = serializers.SerializerMethodField(
        help_text="The data version it became (accepted), else null"
    )
    phase = serializers.SerializerMethodField(
        help_text="The phase it is staged for (released at its start), else null"
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_phase(self, upload: TaskVersionUpload) -> str | None:
        return upload.phase.slug if upload.phase_id else None

    message = serializers.SerializerMethodField(help_text="Where it stands, in words")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="Poll this until the status is final")

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_version(self, upload: TaskVersionUpload) -> int | None:
        return upload.version.number if upload.version_id else None

    def get_message(self, upload: TaskVersionUpload) -> str:
        return version_upload_message(upload=upload)

    def get_url(self, upload: TaskVersionUpload) -> str:
        path = reverse(
            "api-task-version-upload", kwargs={"slug": upload.task.slug, "pk": upload.pk}
        )
        return self.context["request"].build_absolute_uri(path)


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


def _upload_refused(exc: VersionUploadRefused) -> Response:
    """A refused upload (nothing stored or queued): the API's refusal shape plus the
    problems; the bundle's own problems come from its check."""
    if exc.code == "bundle_invalid":
        return _bundle_refused(exc.problems)
    body, headers = refusal_parts(exc)
    return Response(
        {**body, "problems": exc.problems}, status=exc.http_status, headers=headers or None
    )


class TaskVersionListApi(APIView):
    """GET: the versions of a task's data, newest first, with what changed and each one's
    Croissant description: anyone (its owners and organizers also read who uploaded each
    and the bundle's sha256). POST: upload a new bundle version (``.zip``; same slug and
    kind) to replace the data: its owners and organizers only. The upload is stored and a
    worker checks it as an import is checked (202, the upload's status to poll); a valid
    bundle becomes the next version and re-scores every submission of the task. A task
    owner's upload counts against the team's upload budget (rate, the task's daily limit of
    data versions, storage quota)."""

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
            help_text="Required (a missing one is refused with `bundle_invalid`): kept in "
            "the audit log; every team is re-scored",
        )
        phase = serializers.SlugField(
            required=False,
            allow_blank=True,
            default="",
            help_text="Organizers: stage the bundle as this phase's own test set (a phase of "
            "the challenge that has not started): kept from participants (403 "
            "`phase_not_started`) and re-scoring nothing until the phase starts, then that "
            "phase's entries alone are scored on it; refused `invalid_phase` otherwise",
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
        versions = task_versions(task=task, user=request.user)
        return Response(serializer(versions, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="task_version_create",
        request=InputSerializer,
        responses={
            202: TaskVersionUploadSerializer,
            400: OpenApiResponse(
                BundleRefusedSerializer,
                "the reason or the form was refused, or `invalid_phase`: no such phase, or it "
                "has started (nothing stored)",
            ),
            413: OpenApiResponse(
                BundleRefusedSerializer, "over the size cap, or the team's storage quota"
            ),
            429: OpenApiResponse(
                BundleRefusedSerializer, "the team's upload rate, or the task's uploads today"
            ),
            503: OpenApiResponse(
                BundleRefusedSerializer, "the bundle could not be stored now (try again)"
            ),
            **error_responses(
                {403: "not an owner of this task, or a phase's data staged by a non-organizer"}
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        task = managed_task_or_refuse(request, slug)
        try:  # before the body is read: a refused upload costs the server nothing
            task_version_upload_admission(
                task=task, user=request.user, declared_bytes=declared_length(meta=request.META)
            )
        except VersionUploadRefused as exc:
            return _upload_refused(exc)
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return _bundle_refused(
                [f"{field}: {m}" for field, ms in serializer.errors.items() for m in ms],
                code="invalid",
            )
        try:
            upload = task_version_upload_create(
                task=task,
                user=request.user,
                file=serializer.validated_data["file"],
                reason=serializer.validated_data["reason"],
                phase=_phase_asked(task, serializer.validated_data["phase"]),
            )
        except VersionUploadRefused as exc:
            return _upload_refused(exc)
        data = TaskVersionUploadSerializer(upload, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


def _phase_asked(task: Task, slug: str) -> Phase | None:
    if not slug:
        return None
    phase = Phase.objects.filter(challenge_id=task.track.challenge_id, slug=slug).first()
    if phase is None:
        raise VersionUploadRefused("invalid_phase", f"The challenge has no phase '{slug}'.")
    return phase


class TaskVersionUploadApi(APIView):
    """An uploaded data version and where its check stands: its task's owners and
    organizers."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="task_version_upload_retrieve",
        responses={
            200: TaskVersionUploadSerializer,
            **error_responses({403: "not an owner of this task", 404: "no such upload"}),
        },
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        task = managed_task_or_refuse(request, slug)
        upload = task_version_upload_get(task=task, pk=pk, user=request.user)
        if upload is None:
            raise Http404("There is no such upload of this task.")
        return Response(TaskVersionUploadSerializer(upload, context={"request": request}).data)
