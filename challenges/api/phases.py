"""REST API of a challenge's phases (docs/decisions/0066-phases.md): list them (the current
first), and the organizers' add and edit, each with a reason and audited."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Challenge, Phase, PhaseFeedback
from ..phases import PhaseRefused, PhaseRow, phase_create, phase_rows, phase_update
from .errors import error_responses


class PhaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    feedback = serializers.ChoiceField(
        choices=PhaseFeedback.choices,
        help_text="live: the task's board mode; blind: scored, but no score, verdict or board "
        "figure reaches a participant until the reveal.",
    )
    daily_submission_limit = serializers.IntegerField(
        help_text="Submissions per team, per task, per UTC day in this phase."
    )
    max_submissions = serializers.IntegerField(
        allow_null=True, help_text="Submissions per team, per task, over the phase; null: no cap."
    )
    final = serializers.BooleanField(help_text="This phase's private scores make the standings.")
    current = serializers.BooleanField(
        help_text="The phase open now, else the last that started (boards show it by default)."
    )


class PhaseInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=50)
    title = serializers.CharField(max_length=200)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    feedback = serializers.ChoiceField(choices=PhaseFeedback.choices, default="live")
    daily_submission_limit = serializers.IntegerField(
        min_value=1, max_value=10_000, allow_null=True, required=False
    )
    max_submissions = serializers.IntegerField(
        min_value=1, max_value=100_000, allow_null=True, required=False
    )
    final = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=2000, help_text="Why (kept in the audit log).")


class PhasePatchSerializer(PhaseInputSerializer):
    """Every field optional but the reason."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "reason":
                field.required = False
                field.default = serializers.empty


def _refused(exc: PhaseRefused) -> Response:
    return Response({"detail": exc.message, "code": exc.code}, status=exc.http_status)


WRITE_ERRORS = {
    400: "A field is invalid, the reason is missing (`reason_required`), or the phase would "
    "end before it starts, overlap another phase or reuse a slug (`invalid_phase`).",
    403: "Only organizers add and edit phases.",
}


class ChallengePhasesApi(APIView):
    """``GET``: the challenge's phases, the current first (``"current": true``).
    ``POST`` (organizers): add a phase, with a ``reason``; audited ``phase.create``."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAdminUser()]

    @extend_schema(
        operation_id="challenge_phases_list",
        responses={
            200: PhaseOutputSerializer(many=True),
            **error_responses({404: "No such challenge."}),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        rows = [row.as_json() for row in phase_rows(challenge=challenge)]
        return Response(PhaseOutputSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="challenge_phase_create",
        request=PhaseInputSerializer,
        responses={
            201: PhaseOutputSerializer,
            **error_responses({**WRITE_ERRORS, 404: "No such challenge."}),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        data = PhaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        try:
            phase = phase_create(
                challenge=challenge, actor=request.user, values=values, reason=reason
            )
        except PhaseRefused as exc:
            return _refused(exc)
        return Response(
            PhaseOutputSerializer(PhaseRow(phase, False).as_json()).data,
            status=status.HTTP_201_CREATED,
        )


class PhaseUpdateApi(APIView):
    """Change a phase's fields (organizers), with a ``reason``; audited ``phase.update``.
    A submission keeps the phase it arrived in, whatever the new dates."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="phase_update",
        request=PhasePatchSerializer,
        responses={
            200: PhaseOutputSerializer,
            **error_responses({**WRITE_ERRORS, 404: "No such phase."}),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
        data = PhasePatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        try:
            phase = phase_update(phase=phase, actor=request.user, values=values, reason=reason)
        except PhaseRefused as exc:
            return _refused(exc)
        current = next(
            (row.current for row in phase_rows(challenge=phase.challenge) if row.phase.pk == pk),
            False,
        )
        return Response(PhaseOutputSerializer(PhaseRow(phase, current).as_json()).data)
