"""API of a task's references (docs/architecture.md §10, §11): its owners and organizers
list them, upload named reference files, choose the primary one and remove uploads. The check is the
task owner's (``owner_api.managed_task_or_refuse``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.errors import error_responses
from challenges.api.fields import StrictFormBooleanField
from challenges.split_access import private_visible
from common.splits import SHOWN_ORDER
from scoring.admission import declared_length
from scoring.models import Reference, ReferenceSource
from scoring.owner_api import managed_task_or_refuse
from scoring.reference_selectors import (
    primary_reference,
    reference_list,
    reference_scores_sealed,
)
from scoring.services.references import (
    ReferenceRefused,
    reference_delete,
    reference_primary_set,
    reference_upload,
    reference_upload_admission,
)


class ReferenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=ReferenceSource.choices)
    is_primary = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text="`scored`, or `unusable` when it no longer fits the task's data"
    )
    scores_withheld = serializers.SerializerMethodField(
        help_text="True for a task owner's upload while the owner's team competes on the task "
        "and the private split is not revealed: it is scored (the board's flips use it) but "
        "its numbers are shown from the reveal on (organizers: always)."
    )
    public_score = serializers.SerializerMethodField()
    private_score = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    unusable_reason = serializers.CharField(
        help_text="Why this upload no longer scores against the task's current data version "
        "(empty: usable)"
    )

    def get_is_primary(self, reference: Reference) -> bool:
        primary = self.context.get("primary")
        return primary is not None and primary.pk == reference.pk

    def _private(self, reference: Reference) -> bool:
        """Private scores as for submissions: organizers always, others after the reveal."""
        user = self.context["request"].user
        return private_visible(challenge=reference.task.track.challenge, user=user)

    def _withheld(self, reference: Reference) -> bool:
        return reference_scores_sealed(reference=reference, user=self.context["request"].user)

    def get_status(self, reference: Reference) -> str:
        return "unusable" if reference.unusable_reason else "scored"

    def get_scores_withheld(self, reference: Reference) -> bool:
        return self._withheld(reference)

    @extend_schema_field({"type": "number", "nullable": True})
    def get_public_score(self, reference: Reference) -> float | None:
        return None if self._withheld(reference) else reference.public_score

    @extend_schema_field({"type": "number", "nullable": True})
    def get_private_score(self, reference: Reference) -> float | None:
        if self._withheld(reference) or not self._private(reference):
            return None
        return reference.private_score

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "object"}})
    def get_scores(self, reference: Reference) -> dict:
        if self._withheld(reference):
            return {}
        scores = reference.scores or {}
        splits = SHOWN_ORDER if self._private(reference) else ("public",)
        return {split: scores[split] for split in splits if split in scores}


def _refused(exc: ReferenceRefused) -> Response:
    body: dict[str, str] = {"code": exc.code, "detail": str(exc)}
    headers = None
    if exc.retry_after is not None:  # the team's upload rate, the day's limit
        body["retry_after"] = exc.retry_after.isoformat()
        headers = {"Retry-After": str(exc.retry_seconds())}
    return Response(body, status=exc.status, headers=headers)


class TaskReferenceListApi(APIView):
    """GET: the task's references (primary marked). POST: upload a named reference file,
    scored at once like a submission; a refused file stores nothing and says why."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, help_text="e.g. 'production model, Sept.'")
        file = serializers.FileField(allow_empty_file=True)
        primary = StrictFormBooleanField(
            default=False,
            help_text='Make it the primary reference: the form field "true" or "false"',
        )

    @extend_schema(
        responses={
            200: ReferenceOutputSerializer(many=True),
            **error_responses({403: "not an owner"}),
        }
    )
    def get(self, request: Request, slug: str) -> Response:
        task = managed_task_or_refuse(request, slug)
        references = reference_list(task=task)
        primary = primary_reference(task=task, references=references)
        data = ReferenceOutputSerializer(
            references, many=True, context={"primary": primary, "request": request}
        ).data
        return Response(data)

    @extend_schema(
        operation_id="task_reference_create",
        request=InputSerializer,
        responses={
            201: ReferenceOutputSerializer,
            **error_responses(
                {
                    400: "bad name, duplicate name, file too large or invalid",
                    403: "not an owner, rules not accepted (`rules_not_accepted`), a hidden "
                    "team (`team_hidden`), or `primary` after the start (`primary_locked`)",
                    413: "the team's storage quota (`storage_quota`)",
                    429: "the task's reference uploads of the day are used (`reference_limit`),"
                    " or the team's upload rate (`rate_limited`)",
                }
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        task = managed_task_or_refuse(request, slug)
        try:  # before the body is read: a refused upload costs the server nothing
            reference_upload_admission(
                task=task, user=request.user, declared_bytes=declared_length(meta=request.META)
            )
        except ReferenceRefused as exc:
            return _refused(exc)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            reference = reference_upload(
                task=task,
                name=data["name"],
                file=data["file"],
                user=request.user,
                make_primary=data["primary"],
            )
        except ReferenceRefused as exc:
            return _refused(exc)
        primary = primary_reference(task=task)
        return Response(
            ReferenceOutputSerializer(
                reference, context={"primary": primary, "request": request}
            ).data,
            status=status.HTTP_201_CREATED,
        )


class TaskReferencePrimaryApi(APIView):
    """Choose the primary reference by name (null: back to the default rule)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    class InputSerializer(serializers.Serializer):
        reference = serializers.CharField(allow_null=True, max_length=200)

    @extend_schema(
        operation_id="task_reference_primary_update",
        request=InputSerializer,
        responses={
            200: ReferenceOutputSerializer,
            **error_responses({400: "no reference of that name", 403: "not an owner"}),
        },
    )
    def put(self, request: Request, slug: str) -> Response:
        task = managed_task_or_refuse(request, slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            reference_primary_set(
                task=task, name=serializer.validated_data["reference"], user=request.user
            )
        except ReferenceRefused as exc:
            return _refused(exc)
        primary = primary_reference(task=task)
        if primary is None:
            return Response({"detail": "The task has no reference yet."})
        return Response(
            ReferenceOutputSerializer(
                primary, context={"primary": primary, "request": request}
            ).data
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: ReferenceOutputSerializer,
            **error_responses({400: "no reference of that name", 403: "not an owner"}),
        },
        operation_id="task_reference_primary_create",
        description="The same as PUT, for clients that only POST forms.",
    )
    def post(self, request: Request, slug: str) -> Response:
        return self.put(request, slug)


class TaskReferenceDeleteApi(APIView):
    """Remove an uploaded reference (built-in ones cannot be removed)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            204: None,
            **error_responses(
                {
                    400: "a built-in reference",
                    403: "not an owner, or the primary reference after the start",
                }
            ),
        },
    )
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        task = managed_task_or_refuse(request, slug)
        reference = Reference.objects.filter(task=task, pk=pk).first()
        if reference is None:
            return Response(
                {"detail": "There is no such reference."}, status=status.HTTP_404_NOT_FOUND
            )
        if reference.source != ReferenceSource.UPLOAD:
            return _refused(ReferenceRefused("Built-in references cannot be removed."))
        try:
            reference_delete(reference=reference, user=request.user)
        except ReferenceRefused as exc:
            return _refused(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)
