"""API of a task's champion (docs/organizers/champion-gate.md): the champion and its timeline, and
the release check a data owner's CI pipeline calls (``chal release-check``)."""

from __future__ import annotations

import functools
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

from challenges.api.errors import error_responses, refusal_response
from challenges.models import Team
from challenges.rules import rules_gate
from challenges.selectors import is_organizer, team_for_user
from challenges.upload_budget import (
    UploadBudgetExceeded,
    upload_rate_check,
    upload_rate_take,
)
from common.splits import BOARD_SPLITS
from common.units import byte_size
from datasets.models import Task
from datasets.selectors import task_get, task_get_or_404
from leaderboard.core.gate import RULES, VERDICTS
from runtime.wsgi_retry import undone_on_replay
from scoring.admission import declared_length
from scoring.core import SubmissionInvalid, score_file
from scoring.services.upload import MULTIPART_SLACK_BYTES
from scoring.solutions import solution_for_task

from .budget import (
    release_budget,
    release_budget_give_back,
    release_budget_refusal,
    release_budget_take,
)
from .entries import EntryUnreadable
from .selectors import (
    ReleaseCheckRefused,
    champion_document,
    release_candidate,
    release_check,
    release_check_open,
)
from .services import champion_ensure

MAX_ID = 2**31 - 1  # a row id: larger numbers are refused by the schema, not by the database
_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_PAIR = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
VERDICT_CHOICES = list(VERDICTS)
RULE_CHOICES = list(RULES)
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
    reason = serializers.CharField(
        help_text="An organizer's pin: why; a start decided again: why (a new data version, "
        "a reference marked primary in place of the trivial baseline)."
    )
    verdict = serializers.ChoiceField(
        choices=VERDICT_CHOICES,
        allow_null=True,
        help_text="The gate's verdict of a gate step: passes, or cannot_tell where the "
        "challenge crowns those (gate_cannot_tell); null for the start and for pins.",
    )
    rule = serializers.ChoiceField(
        choices=RULE_CHOICES,
        allow_null=True,
        help_text="The rule that failed: always null here (a failed entry is no step).",
    )
    rows_needed = serializers.IntegerField(
        allow_null=True, help_text="cannot_tell: units that would bound the NFR at epsilon."
    )
    withheld = serializers.CharField(
        allow_null=True,
        help_text='"too few changed rows to report" when the step changed fewer than k rows '
        '(docs/organizers/disclosure.md; its counts are null); "exact public scores hidden by '
        "the ladder board until the reveal\" for a step on a ladder board's public split read "
        "by whom it hides exact public scores from (docs/organizers/ladder.md); else null.",
    )


class ChampionSerializer(serializers.Serializer):
    entry = serializers.JSONField(allow_null=True, help_text=_ENTRY["description"])
    team = serializers.CharField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    split = serializers.ChoiceField(
        choices=list(BOARD_SPLITS),
        help_text="The split the gate decides on now: public until the private split is revealed.",
    )
    history = HistoryItemSerializer(many=True)
    waiting_for = serializers.CharField(
        allow_null=True,
        help_text="While the task has no champion: what its start waits for (the AutoGluon "
        "baseline on its way; the trivial baseline is never the start meanwhile), else null.",
    )
    withheld = serializers.CharField(
        allow_null=True,
        help_text="Why entry, team and since are null although the task has a champion: a "
        "team's entry crowned by the gate on a ladder board's public split is named to "
        "organizers only until the reveal, and such crownings are left out of history "
        "(docs/organizers/ladder.md); else null.",
    )


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


class ReleaseBudgetSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="The challenge's release_checks_per_day.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField(help_text="The next UTC midnight.")


class ReleaseCheckSerializer(serializers.Serializer):
    split = serializers.ChoiceField(choices=list(BOARD_SPLITS))
    difference = serializers.FloatField(allow_null=True)
    ci = serializers.JSONField(allow_null=True)
    nfr = serializers.FloatField(allow_null=True)
    nfr_ci = serializers.JSONField(allow_null=True)
    pfr = serializers.FloatField(allow_null=True)
    pfr_ci = serializers.JSONField(allow_null=True)
    mcnemar = McNemarSerializer(allow_null=True)
    slices = SliceSerializer(many=True)
    opis_change = serializers.FloatField(allow_null=True)
    passes = serializers.BooleanField(help_text='True exactly when verdict is "passes".')
    verdict = serializers.ChoiceField(
        choices=VERDICT_CHOICES,
        help_text="passes; fails (rule names the first rule that broke); cannot_tell: better, "
        "no slice broken and an observed NFR below epsilon, but too few rows to bound it there "
        "(rows_needed says how many would).",
    )
    rule = serializers.ChoiceField(
        choices=RULE_CHOICES,
        allow_null=True,
        help_text="fails: the first rule that broke, in this order: improvement, nfr, slice.",
    )
    rows_needed = serializers.IntegerField(
        allow_null=True,
        help_text="cannot_tell: units of a split at which the NFR observed here would be "
        "bounded at epsilon (95% Clopper-Pearson); null otherwise or when withheld.",
    )
    withheld = serializers.CharField(
        allow_null=True,
        help_text='"too few changed rows to report" when the file differs from the champion on '
        "fewer than min_changed_rows rows of the split: every count is then null "
        '(docs/organizers/disclosure.md); "exact public scores hidden by the ladder board '
        'until the reveal" on the public split of a ladder board, for a reader who may not '
        "see its exact public scores: every figure but rows_needed is then null, the verdict "
        "stands (docs/organizers/ladder.md); null when nothing is withheld.",
    )
    min_changed_rows = serializers.IntegerField(
        help_text="k: counts are given only from this many changed rows on."
    )
    budget = ReleaseBudgetSerializer(
        allow_null=True,
        help_text="The team's release checks of this task today, this one counted; null for "
        "organizers (no limit).",
    )
    broken_ids = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Ids of broken public rows (at most 100; never a private row), named to the "
        "task's owners and organizers only; empty for everyone else.",
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
    stored and no submission is spent: the release checks have a daily budget of their own
    (and the upload rate)."""

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
                    409: "no champion yet (`no_champion`: the detail names what its start "
                    "waits for), the champion's numbers are sealed (`champion_sealed`), a "
                    "submission/run not scored, or the task has a ladder public board and "
                    "the caller is a participant, before the reveal (`ladder_board`: "
                    "organizers and the task's owners are answered)",
                    413: "the file is larger than the submission limit",
                }
            ),
            429: OpenApiResponse(
                description="Too many uploads in a short time (`rate_limited`), or the team's "
                "release checks of the task for today are used (`daily_limit`); Retry-After."
            ),
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
        # The team's upload rate (challenges.upload_budget): checked before the body
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
        organizer = is_organizer(user=request.user)
        try:
            release_check_open(task=task, user=request.user)
            if team is not None:
                upload_rate_check(team=team)
            if team is not None and not organizer:
                _budget_left(team=team, task=task)  # before the body is read
        except (UploadBudgetExceeded, ReleaseCheckRefused) as exc:
            return refusal_response(exc)
        limit = settings.SUBMISSION_MAX_BYTES
        declared = declared_length(meta=request.META)
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
        try:
            document = _answer(
                task, request, serializer.validated_data, team=team, organizer=organizer
            )
        except ReleaseCheckRefused as exc:
            return refusal_response(exc)
        return Response(document)


def _budget_left(*, team: Team, task: Task) -> None:
    """Refuse (429 ``daily_limit``) before the body is read when no check is left today."""
    budget = release_budget(team=team, task=task)
    if budget.remaining <= 0:
        raise release_budget_refusal(budget=budget, task=task)


def _answer(
    task: Task, request: Request, data: dict[str, Any], *, team: Team | None, organizer: bool
) -> dict[str, Any]:
    """The release check's answer, one use of the team's daily budget spent on it (given
    back when no answer is given); an organizer has no budget (``budget``: null)."""
    use, budget = (None, None)
    if team is not None and not organizer:
        # Given back before the check runs again, should the database go away while it is
        # computed (runtime/wsgi_retry.py): a lost answer costs nothing.
        with undone_on_replay() as undo:
            use, budget = release_budget_take(team=team, task=task, user=request.user)
            undo(functools.partial(release_budget_give_back, use=use))
    answered = False
    try:
        pred, scores = _candidate(task, request, data)
        champion = champion_ensure(task=task)
        document = release_check(
            task=task, user=request.user, pred=pred, scores=scores, champion=champion
        )
        answered = True
    finally:
        if use is not None and not answered:
            release_budget_give_back(use=use)
    document["budget"] = None if budget is None else budget.as_json()
    return document


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
                path, solution_for_task(task=task), max_bytes=settings.SUBMISSION_MAX_BYTES
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
