"""API of a task's champion (docs/organizers/champion-gate.md): the champion and its timeline, and
the release check a data owner's CI pipeline calls (``chal release-check``)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenge_platform.api.errors import error_responses, refusal_response
from challenge_platform.models import Team
from challenge_platform.rules import rules_gate
from challenge_platform.selectors import is_organizer, team_for_user
from challenge_platform.upload_budget import (
    UploadBudgetExceeded,
    upload_rate_check,
    upload_rate_take,
)
from common.units import byte_size
from datasets.models import Task
from datasets.selectors import task_get, task_get_or_404
from scoring.admission import declared_length
from scoring.core import SubmissionInvalid, score_file
from scoring.services import MULTIPART_SLACK_BYTES
from scoring.solutions import solution_for_task

from .entries import EntryUnreadable
from .selectors import (
    ReleaseCheckRefused,
    champion_document,
    release_candidate,
    release_check,
)
from .services import champion_ensure

MAX_ID = 2**31 - 1  # a row id: larger numbers are refused by the schema, not by the database
_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_PAIR = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_ENTRY = {
    "type": "object",
    "nullable": True,
    "description": '{"type": "submission"|"reference"|"run", "id", "name"}',
}


class HistoryItemSerializer(serializers.Serializer):
    entry = serializers.JSONField(help_text=_ENTRY["description"])
    team = serializers.CharField(allow_null=True, help_text="null for a reference")
    at = serializers.DateTimeField()
    difference = serializers.FloatField(
        allow_null=True,
        help_text="How much better than the previous champion, in the primary metric's units "
        "(positive: better, whatever the metric's direction); null for a pin or the start.",
    )
    ci = serializers.JSONField(allow_null=True, help_text="[low, high] of the difference")
    nfr = serializers.FloatField(allow_null=True)
    nfr_upper = serializers.FloatField(allow_null=True)
    worst_slice = serializers.JSONField(allow_null=True)
    by = serializers.ChoiceField(choices=["initial", "gate", "pin"])
    split = serializers.CharField()
    reason = serializers.CharField(help_text="An organizer's pin: why.")


class ChampionSerializer(serializers.Serializer):
    entry = serializers.JSONField(allow_null=True, help_text=_ENTRY["description"])
    team = serializers.CharField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    split = serializers.ChoiceField(
        choices=["public", "private"],
        help_text="The split the gate decides on now: public until the private split is revealed.",
    )
    history = HistoryItemSerializer(many=True)


class TaskChampionApi(APIView):
    """A task's champion, since when, and its timeline (oldest first)."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="task_champion", responses={200: ChampionSerializer})
    def get(self, request: Request, slug: str) -> Response:
        task = task_get_or_404(slug=slug)
        champion_ensure(task=task)  # set at first use: the task's primary reference
        return Response(champion_document(task=task, user=request.user))


class SliceSerializer(serializers.Serializer):
    column = serializers.CharField()
    value = serializers.CharField()
    rows = serializers.IntegerField(help_text="Units (rows, or a grouping task's entities)")
    nfr = serializers.FloatField()
    nfr_upper = serializers.FloatField(help_text="Holm-corrected one-sided upper bound")


class McNemarSerializer(serializers.Serializer):
    fixes = serializers.IntegerField()
    breaks = serializers.IntegerField()
    p = serializers.FloatField(allow_null=True, help_text="null where outputs are no labels")


class ReleaseCheckSerializer(serializers.Serializer):
    split = serializers.ChoiceField(choices=["public", "private"])
    difference = serializers.FloatField(allow_null=True)
    ci = serializers.JSONField(allow_null=True)
    nfr = serializers.FloatField(allow_null=True)
    nfr_ci = serializers.JSONField(allow_null=True)
    pfr = serializers.FloatField(allow_null=True)
    pfr_ci = serializers.JSONField(allow_null=True)
    mcnemar = McNemarSerializer(allow_null=True)
    slices = SliceSerializer(many=True)
    opis_change = serializers.FloatField(allow_null=True)
    passes = serializers.BooleanField()
    broken_ids = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Ids of broken public rows (at most 100; never a private row); empty while "
        "the challenge hides example rows from participants.",
    )
    metric = serializers.CharField()
    epsilon = serializers.FloatField()
    alpha = serializers.FloatField()
    champion = serializers.JSONField(help_text=_ENTRY["description"])
    worst_slice = SliceSerializer(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


def _refused(exc: ReleaseCheckRefused) -> Response:
    return Response({"code": exc.code, "detail": exc.message}, status=exc.status)




class TaskReleaseCheckApi(APIView):
    """Would this be the task's champion? A prediction file (multipart ``file``), or JSON
    ``{"submission": id}`` / ``{"run": id}``, weighed against the champion; nothing is
    stored and no daily limit is spent (rate-limited like uploads)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(required=False, allow_empty_file=True)
        submission = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
        run = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            given = [name for name in ("file", "submission", "run") if attrs.get(name)]
            if len(given) != 1:
                raise serializers.ValidationError(
                    "Give exactly one of: a prediction file (multipart 'file'), "
                    "'submission' (an id) or 'run' (an id)."
                )
            return attrs

    @extend_schema(
        operation_id="task_release_check",
        # The schema says "exactly one" as the view checks it: a file as multipart, or one
        # of the two ids as JSON.
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "application/json": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {"submission": _ID_SCHEMA},
                        "required": ["submission"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {"run": _ID_SCHEMA},
                        "required": ["run"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        responses={
            200: ReleaseCheckSerializer,
            **error_responses(
                {
                    400: "not exactly one of file/submission/run, or the file is not a valid "
                    "submission (`invalid_file`)",
                    403: "the challenge's rules are not accepted (`rules_not_accepted`), or "
                    "the user is on no team of the challenge (`no_team`)",
                    409: "no champion yet, the champion's numbers are sealed "
                    "(`champion_sealed`), or a submission/run not scored",
                    413: "the file is larger than the submission limit",
                }
            ),
            429: OpenApiResponse(description="Too many uploads in a short time (Retry-After)."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        try:
            task = task_get(slug=slug)
        except Task.DoesNotExist:
            return Response(
                {"code": "not_found", "detail": f"There is no task '{slug}'."}, status=404
            )
        rules_gate(challenge=task.track.challenge, user=request.user)
        # The team's upload rate (challenge_platform.upload_budget): checked before the body
        # is read, counted once it has arrived, in the same budget as its uploads.
        team = team_for_user(challenge=task.track.challenge, user=request.user)
        if team is None and not is_organizer(user=request.user):
            return _refused(
                ReleaseCheckRefused(
                    "A release check counts as one of your team's uploads: join a team of "
                    "this challenge first.",
                    status=403,
                    code="no_team",
                )
            )
        try:
            if team is not None:
                upload_rate_check(team=team)
        except UploadBudgetExceeded as exc:
            return refusal_response(exc)
        limit = settings.SUBMISSION_MAX_BYTES
        declared = declared_length(request.META)
        if declared is not None and declared > limit + MULTIPART_SLACK_BYTES:
            return _refused(
                ReleaseCheckRefused(
                    f"The file is larger than the {byte_size(limit)} limit.",
                    status=413,
                    code="too_large",
                )
            )
        serializer = self.InputSerializer(data=request.data)
        try:
            _spend_upload(team)
        except UploadBudgetExceeded as exc:
            return refusal_response(exc)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            pred, scores = _candidate(task, request, data)
            champion = champion_ensure(task=task)
            document = release_check(
                task=task,
                user=request.user,
                pred=pred,
                scores=scores,
                champion=champion,
                ids_shown=is_organizer(user=request.user)
                or task.track.challenge.flip_examples_visible(),
            )
        except ReleaseCheckRefused as exc:
            return _refused(exc)
        return Response(document)


def _spend_upload(team: Team | None) -> None:
    """Count one upload of ``team`` (none: an organizer, whose uploads have no limit)."""
    if team is not None:
        upload_rate_take(team=team)


def _candidate(task: Task, request: Request, data: dict[str, Any]) -> tuple[np.ndarray, dict]:
    """The predictions and scores per split of what the request names."""
    upload = data.get("file")
    if upload is not None:
        try:
            path = upload.temporary_file_path()
        except AttributeError:  # kept in memory: small
            path = io.BytesIO(upload.read())
        try:
            result = score_file(
                path, solution_for_task(task), max_bytes=settings.SUBMISSION_MAX_BYTES
            )
        except SubmissionInvalid as exc:
            raise ReleaseCheckRefused(exc.message, status=400, code="invalid_file") from exc
        return np.asarray(result.aligned.pred), result.scores()
    entry = release_candidate(
        task=task, user=request.user, submission_id=data.get("submission"), run_id=data.get("run")
    )
    try:
        return np.asarray(entry.predictions().pred), dict(entry.obj.scores or {})
    except EntryUnreadable as exc:
        raise ReleaseCheckRefused(str(exc), status=409, code="not_scored") from exc
