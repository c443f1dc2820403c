"""REST API of the living benchmark (docs/architecture.md §12): a team marks its versions
in or out of the benchmark; anyone sees the re-runs' queue of a challenge (counts only, as boards
show)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from algorithms.api import VersionSerializer, invalid, no_challenge, refused
from algorithms.models import AlgorithmVersion
from algorithms.selectors import algorithm_get
from algorithms.services.benchmark import benchmark_mark, benchmark_status
from algorithms.services.common import AlgorithmRefused
from challenges.api.errors import error_responses
from challenges.api.fields import StrictBooleanField
from challenges.models import Challenge


class AlgorithmVersionApi(APIView):
    """One version of an algorithm; its team marks it in or out of the benchmark (``null``:
    the default rule) and may choose it as the team's final version."""

    class InputSerializer(serializers.Serializer):
        in_benchmark = StrictBooleanField(required=False, allow_null=True)
        final = StrictBooleanField(required=False)

    # JSON only: a form's "0"/"null" strings are not the booleans the schema promises.
    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated]

    def _version(self, request: Request, pk: int, number: int) -> AlgorithmVersion:
        algorithm = algorithm_get(user=request.user, algorithm_pk=pk)
        version = algorithm.versions.filter(number=number).first() if algorithm else None
        if version is None:
            raise NotFound("There is no such algorithm version.")
        return version

    @extend_schema(
        operation_id="algorithm_version_detail",
        responses={200: VersionSerializer, **error_responses({404: "No such version."})},
    )
    def get(self, request: Request, pk: int, number: int) -> Response:
        return Response(VersionSerializer(self._version(request, pk, number)).data)

    @extend_schema(
        operation_id="algorithm_version_update",
        request=InputSerializer,
        responses={
            200: VersionSerializer,
            **error_responses(
                {
                    400: "A value that is not a boolean (an empty body changes nothing).",
                    403: "The team is hidden.",
                    404: "No such version, or not one of the caller's team's (organizers "
                    "see every version but mark none).",
                }
            ),
        },
    )
    def patch(self, request: Request, pk: int, number: int) -> Response:
        version = self._version(request, pk, number)
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        data = serializer.validated_data
        if not data:  # nothing asked: nothing changes (PATCH semantics)
            return Response(VersionSerializer(version).data)
        try:
            version = benchmark_mark(
                version=version,
                user=request.user,
                in_benchmark=data.get("in_benchmark", ...),
                final=data.get("final"),
            )
        except AlgorithmRefused as exc:
            return refused(exc)
        return Response(VersionSerializer(version).data)


class BudgetSerializer(serializers.Serializer):
    cpu_hours_per_day = serializers.FloatField()
    used_today = serializers.FloatField(help_text="CPU-hours the background runs used today (UTC).")


class BenchmarkStatusSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    eta_seconds = serializers.FloatField(
        allow_null=True, help_text="Until the pending and running re-runs are done; null: unknown."
    )
    budget = BudgetSerializer()


class ChallengeBenchmarkApi(APIView):
    """The challenge's re-runs (the living benchmark's queue): how many are pending, running,
    done and failed, when the pending ones should be done, and the day's CPU budget. Counts
    only, the same for everyone (like the challenge list)."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenge_benchmark",
        responses={200: BenchmarkStatusSerializer, **error_responses({404: "No such challenge."})},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            return no_challenge(slug)
        return Response(benchmark_status(challenge=challenge).as_dict())
