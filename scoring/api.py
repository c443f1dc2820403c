"""REST API of the scoring app (docs/architecture.md §7): upload a submission, list and
read them."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.audit import decision_payload
from challenges.phases import BLIND_WITHHELD, submission_figures_visible
from datasets.models import Task
from datasets.selectors import task_get
from jobs.api_wait import WAIT_PARAMETER, job_status_answer
from kinds import describe_metrics
from scoring.admission import declared_length, refusal_parts
from scoring.models import Submission
from scoring.reference_selectors import submission_primary_nfr, submission_reference_flips
from scoring.selectors import (
    public_scores_shown,
    submission_algorithm,
    submission_get,
    submission_ladder,
    submission_list,
    submission_status_state,
    submission_visible_scores,
)
from scoring.services.upload import (
    ADMITTED,
    IDEMPOTENCY_KEY_HEADER,
    SubmissionRefused,
    submission_admission_check,
    submission_create,
    upload_replay,
)

# Why a ladder board's submission reads without its exact public figures (the one sentence).
LADDER_WITHHELD = (
    "exact public figures withheld until the private split is revealed: the task has a "
    "ladder board, which shows an entry's shown score when it climbed and otherwise says it "
    "was not better than the team's shown score by a significant margin; its exact public "
    "scores, NFR and flips would give the public rows away (docs/organizers/ladder.md)"
)


@extend_schema_serializer(component_name="Submission")
class SubmissionOutputSerializer(serializers.Serializer):
    """A submission as its team (or an organizer) sees it; never the file or predictions."""

    id = serializers.IntegerField()
    task = serializers.CharField(source="task.slug")
    team = serializers.CharField(source="team.name")
    status = serializers.CharField()
    error = serializers.CharField()
    scores = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    row_count = serializers.IntegerField(allow_null=True)
    file_format = serializers.CharField()
    is_final = serializers.BooleanField()
    uploaded_by = serializers.SerializerMethodField()
    algorithm = serializers.SerializerMethodField()
    is_hidden = serializers.BooleanField()
    decision = serializers.SerializerMethodField()
    shown_score = serializers.SerializerMethodField()
    climbed = serializers.SerializerMethodField()
    team_shown_score = serializers.SerializerMethodField()
    board_mode = serializers.CharField(
        source="task.public_board",
        help_text="The task's public board mode (docs/organizers/ladder.md): plain, ladder or "
        "ladder-bootstrap.",
    )
    phase = serializers.CharField(
        source="phase.slug",
        read_only=True,
        allow_null=True,
        help_text="The challenge's phase it arrived in (docs/participants/phases.md); null "
        "after the end (the post-challenge board).",
    )

    def _blind(self, submission) -> bool:
        """A blind phase's entry read by a participant before the reveal: scored, and
        nothing else (docs/decisions/0066-phases.md)."""
        return not submission_figures_visible(
            submission=submission, user=self.context["request"].user
        )

    @extend_schema_field(
        {
            "type": "number",
            "nullable": True,
            "description": "The public score shown for this entry "
            "(docs/organizers/ladder.md): on a plain "
            "board its exact public score; on a ladder board its shown score when it climbed, "
            "else null (not better than the team's shown score by a significant margin).",
        }
    )
    def get_shown_score(self, submission) -> float | None:
        return self._ladder(submission)["shown_score"]

    @extend_schema_field(
        {
            "type": "boolean",
            "description": "Whether this entry moved its team's shown public score (a plain "
            "board: it beat the team's best); false until scored and weighed.",
        }
    )
    def get_climbed(self, submission) -> bool:
        return bool(self._ladder(submission)["climbed"])

    @extend_schema_field(
        {
            "type": "number",
            "nullable": True,
            "description": "The team's shown public score after this entry: its own when it "
            "climbed, else the one it did not beat.",
        }
    )
    def get_team_shown_score(self, submission) -> float | None:
        return self._ladder(submission)["team_shown_score"]

    def _ladder(self, submission) -> dict:
        if self._blind(submission):
            return {"shown_score": None, "climbed": False, "team_shown_score": None}
        return submission_ladder(submission=submission)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "The organizers' decision when the submission (or its team) is "
            'hidden or disqualified: {"action": "hidden", "scope": "submission"|"team", '
            '"reason", "at"}; null otherwise.',
        }
    )
    def get_decision(self, submission) -> dict | None:
        return decision_payload(obj=submission)

    nfr = serializers.SerializerMethodField()
    withheld = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "string",
            "nullable": True,
            "description": "Why the entry's exact public figures are missing (scores.public "
            "beyond the shown score, nfr, flips): a ladder board's, for a reader who may not "
            "see exact public scores, until the reveal (docs/organizers/ladder.md); null "
            "when nothing is withheld.",
        }
    )
    def get_withheld(self, submission) -> str | None:
        if self._blind(submission):
            return BLIND_WITHHELD
        if public_scores_shown(task=submission.task, user=self.context["request"].user):
            return None
        return LADDER_WITHHELD

    @extend_schema_field(
        {
            "type": "object",
            "description": '{"public": {metric: value}}, plus "private" and "all" once private '
            "scores are revealed (always for organizers). On a ladder board "
            "(docs/organizers/ladder.md) "
            'participants get {"public": {primary metric: shown score}} for an entry that '
            'climbed and {"public": {}} for one that did not, until the reveal.',
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "number", "nullable": True},
            },
        }
    )
    def get_scores(self, submission) -> dict:
        if self._blind(submission):
            return {}
        return submission_visible_scores(submission=submission, user=self.context["request"].user)

    @extend_schema_field(
        {
            "type": "object",
            "description": "Label and direction of every metric in scores: "
            '{metric: {"label", "direction": "higher"|"lower", "higher_is_better"}}.',
            "additionalProperties": {"type": "object"},
        }
    )
    def get_metrics(self, submission) -> dict:
        names: list[str] = []
        for values in (submission.scores or {}).values():
            names += [n for n in values if n not in names]
        return describe_metrics(names)

    @extend_schema_field(OpenApiTypes.STR)
    def get_uploaded_by(self, submission) -> str | None:
        return submission.uploaded_by.username if submission.uploaded_by else None

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": 'The algorithm that made it: {"id", "name", "version", "run"} (run: '
            "the algorithm run's id, the built-in baseline's too); null for an uploaded file.",
        }
    )
    def get_algorithm(self, submission) -> dict | None:
        return submission_algorithm(submission=submission)

    @extend_schema_field({"type": "number", "nullable": True})
    def get_nfr(self, submission) -> float | None:
        """Negative flip rate on the public rows against the task's primary reference (null
        on a ladder board until the reveal: it would give the public score away)."""
        if submission.status != "scored" or self._blind(submission):
            return None
        if not public_scores_shown(task=submission.task, user=self.context["request"].user):
            return None
        return submission_primary_nfr(submission=submission)


@extend_schema_serializer(component_name="SubmissionDetail")
class SubmissionDetailSerializer(SubmissionOutputSerializer):
    """The detail adds flips against every reference of the task, per visible split."""

    flips = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "object",
            "description": '{split: {reference name: {"nfr": x, "pfr": y}}}, public only until '
            "private scores are revealed (always for organizers).",
            "additionalProperties": {"type": "object"},
        }
    )
    def get_flips(self, submission) -> dict:
        if submission.status != "scored" or self._blind(submission):
            return {}
        return submission_reference_flips(submission=submission, user=self.context["request"].user)


@extend_schema_serializer(component_name="SubmissionRefusal")
class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")
    code = serializers.CharField()
    retry_after = serializers.DateTimeField(
        allow_null=True,
        required=False,
        help_text="When to try again (429), else null; absent on errors raised before "
        "the upload rules (a NUL character in the address, an unknown route).",
    )


def refusal_response(exc: SubmissionRefused) -> Response:
    body, headers = refusal_parts(exc=exc)
    return Response(body, status=exc.http_status, headers=headers)


class SubmissionCreateApi(APIView):
    """Upload a prediction file for a task; it is scored in the background.

    With an ``Idempotency-Key`` header (a fresh UUID per upload, as ``chal submit`` sends),
    the upload may be sent again after a lost answer (a connection closed, a timeout): the
    same key of the same team answers with the submission the first attempt made (201, with
    ``Idempotent-Replayed: true``), never a second submission, and counts once against the
    daily limit."""

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            allow_empty_file=True,  # the service refuses it with its own words
            help_text="CSV, gzipped CSV or Parquet: id, label, optional proba_<class> or score.",
        )
        note = serializers.CharField(max_length=500, required=False, allow_blank=True)

    OutputSerializer = SubmissionOutputSerializer

    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="submission_create",
        request={"multipart/form-data": InputSerializer},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_KEY_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="A fresh key per upload (1-255 visible ASCII characters, e.g. a"
                " UUID): an upload sent again with the same key makes no second submission.",
            )
        ],
        responses={
            201: OutputSerializer,
            **{
                code: OpenApiResponse(RefusalSerializer, description=why)
                for code, why in (
                    (400, "The file is not a submission (no header, not UTF-8...)."),
                    (403, "Not in a team of this challenge, or the challenge is not open."),
                    (404, "No such task."),
                    (
                        413,
                        "The file is larger than the limit (`too_large`), or would take the "
                        "team over its storage quota (`storage_quota`).",
                    ),
                    (422, "The Idempotency-Key was used for an upload to another task."),
                    (
                        429,
                        "Today's limit is used (`daily_limit`), or the team's upload rate "
                        "(`rate_limited`, prediction files and algorithm archives together); "
                        "see Retry-After and retry_after.",
                    ),
                    (503, "Storage is unavailable; nothing was submitted."),
                )
            },
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        try:
            task = task_get(slug=slug)
        except Task.DoesNotExist:
            return refusal_response(
                SubmissionRefused("not_found", f"There is no task '{slug}'.", 404)
            )
        # Every refusal that needs no byte of the file comes before the body is read
        # (request.data parses and spools it): team, dates, declared size, daily limit; and
        # before those, an upload sent again is answered with what its first attempt made.
        try:
            key, replay = upload_replay(
                task=task, user=request.user, header=request.headers.get(IDEMPOTENCY_KEY_HEADER)
            )
            if replay is not None:
                return self._created(request, replay)
            admission = getattr(request, ADMITTED, None)  # a session caller's, by the middleware
            if admission is None or not admission.holds_for(task=task, user=request.user):
                admission = submission_admission_check(
                    task=task, user=request.user, declared_bytes=declared_length(meta=request.META)
                )
        except SubmissionRefused as exc:
            return refusal_response(exc)
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            field, problems = next(iter(serializer.errors.items()))
            return refusal_response(SubmissionRefused("invalid", f"{field}: {problems[0]}", 400))
        try:
            submission = submission_create(
                task=task,
                user=request.user,
                file=serializer.validated_data["file"],
                note=serializer.validated_data.get("note", ""),
                idempotency_key=key,
                admission=admission,  # asked above: not asked twice (issue 68)
            )
        except SubmissionRefused as exc:
            return refusal_response(exc)
        return self._created(request, submission)

    def _created(self, request: Request, submission: Submission) -> Response:
        data = self.OutputSerializer(submission, context={"request": request}).data
        response = Response(data, status=status.HTTP_201_CREATED)
        if getattr(submission, "replayed", False):
            response["Idempotent-Replayed"] = "true"
        return response


class SubmissionListApi(generics.ListAPIView):
    """The caller's teams' submissions, newest first (organizers: everyone's)."""

    serializer_class = SubmissionOutputSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return submission_list(user=self.request.user, task_slug=self.request.GET.get("task"))

    @extend_schema(
        operation_id="submission_list",
        parameters=[OpenApiParameter("task", str, description="Only this task (its slug).")],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class SubmissionDetailApi(APIView):
    """One submission of the caller's team (any for organizers); others get 404."""

    OutputSerializer = SubmissionDetailSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="submission_detail",
        parameters=[WAIT_PARAMETER],
        responses={200: OutputSerializer, 304: None},
    )
    def get(self, request: Request, pk: int) -> Response:
        seen = submission_get(user=request.user, submission_pk=pk)
        if seen is None:
            raise NotFound("There is no such submission.")  # someone else's looks missing

        def answer() -> Response:
            submission = submission_get(user=request.user, submission_pk=pk)
            return Response(self.OutputSerializer(submission, context={"request": request}).data)

        return job_status_answer(
            request=request,
            state=lambda: submission_status_state(submission_pk=pk),
            answer=answer,
            team_pk=seen.team_id,
        )
