"""REST API of the algorithms app (docs/architecture.md §9): upload, list, read, run,
follow a run."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmVersion
from algorithms.selectors import (
    algorithm_get,
    algorithm_list,
    algorithm_run_get,
    algorithm_run_list,
    algorithm_run_status_state,
    algorithm_run_visible_team,
)
from algorithms.services.benchmark import benchmark_member_ids, version_in_benchmark
from algorithms.services.common import AlgorithmRefused
from algorithms.services.manifest import manifest_of, reproduced_of, reproductions_of
from algorithms.services.runs import (
    algorithm_run_cancel,
    algorithm_runs_admission,
    algorithm_runs_queue,
)
from algorithms.services.upload import algorithm_upload_admission, algorithm_version_create
from algorithms.stress_selectors import PUBLIC, robustness_for_runs, robustness_split
from challenges.api.errors import error_responses, refusal_response
from challenges.audit import ReasonRequired
from challenges.models import Challenge
from jobs.api_wait import WAIT_PARAMETER, job_status_answer
from scoring.admission import declared_length

refused = refusal_response  # an AlgorithmRefused is a Refusal: the API's one shape


def no_challenge(slug: str) -> Response:
    return refused(AlgorithmRefused("not_found", f"There is no challenge '{slug}'.", 404))


def invalid(errors: dict) -> Response:
    """The first problem of a serializer's (possibly nested) errors, in the refusal shape."""
    field, problem = next(iter(errors.items()))
    while isinstance(problem, (dict, list)) and problem:
        problem = next(iter(problem.values())) if isinstance(problem, dict) else problem[0]
    return refused(AlgorithmRefused("invalid", f"{field}: {problem}"))


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    description = serializers.CharField()
    entrypoint = serializers.CharField()
    created_at = serializers.DateTimeField()
    archive_sha256 = serializers.CharField()
    in_benchmark = serializers.SerializerMethodField(
        help_text="Whether the version is re-run on new tasks and data versions (the team's "
        "mark, or the default: the latest version and the final one)."
    )
    benchmark_mark = serializers.BooleanField(
        source="in_benchmark",
        allow_null=True,
        help_text="The team's mark: true, false, or null (the default rule).",
    )
    is_final = serializers.BooleanField(help_text="The team's final version.")

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_in_benchmark(self, version: AlgorithmVersion) -> bool:
        members = self.context.get("benchmark_ids")  # a list's, read in one query
        return (
            version.pk in members if members is not None else version_in_benchmark(version=version)
        )


class AlgorithmOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.SerializerMethodField(help_text="The latest version's number.")
    challenge = serializers.CharField(source="challenge.slug")
    team = serializers.CharField(source="team.name")
    description = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    def _versions(self, algorithm: Algorithm) -> list[AlgorithmVersion]:
        return list(algorithm.versions.order_by("-number"))

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_version(self, algorithm: Algorithm) -> int | None:
        versions = self._versions(algorithm)
        return versions[0].number if versions else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_description(self, algorithm: Algorithm) -> str:
        versions = self._versions(algorithm)
        return versions[0].description if versions else ""

    @extend_schema_field(VersionSerializer(many=True))
    def get_versions(self, algorithm: Algorithm) -> list[dict]:
        members = benchmark_member_ids(team=algorithm.team)
        return VersionSerializer(
            self._versions(algorithm), many=True, context={"benchmark_ids": members}
        ).data


class RunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.CharField(source="task.slug")
    status = serializers.CharField()


class RunsQueuedSerializer(serializers.Serializer):
    runs = RunSummarySerializer(many=True)


class RunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    algorithm = serializers.IntegerField(source="version.algorithm_id")
    version = serializers.IntegerField(source="version.number")
    task = serializers.CharField(source="task.slug")
    status = serializers.CharField()
    error = serializers.CharField()
    log = serializers.CharField(source="log_tail")
    submission = serializers.IntegerField(source="submission_id", allow_null=True)
    submission_status = serializers.SerializerMethodField(
        help_text="The submission's status (queued, scoring, scored, failed), null without one: "
        "a run follows its submission's final status (a failed submission fails the run)."
    )
    seconds = serializers.FloatField(allow_null=True)
    peak_memory_mb = serializers.FloatField(allow_null=True)
    cpu_seconds = serializers.FloatField(allow_null=True)
    limit_hit = serializers.CharField()
    limits = serializers.DictField()
    is_organizer_run = serializers.BooleanField()
    profile = serializers.CharField(
        help_text="team, organizer, baseline, benchmark (a re-run), reproduction, stress or "
        "baseline_stress: what decided its limits, queue and outcome"
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    manifest = serializers.SerializerMethodField(
        help_text="What went into the run (archive, runtime lock and task data hashes, task "
        "data version, seed) and what it used; `reused_from` when it took the result of a run "
        "with the same inputs; a reproduction's `reproduction`: {worker, original_worker, "
        "placement} (another_host, another_worker or same_worker)."
    )
    reproduced = serializers.SerializerMethodField(
        help_text="null, or the run's reproduction: {run, agreement, placement} (the share "
        "of rows predicted identically; where it ran: another_host, another_worker on the same "
        "host, or same_worker when no other worker of its queue took it)."
    )
    robustness = serializers.SerializerMethodField(
        help_text="null, or the figures of the run's stress run (a stress run's own): "
        "{families: {name: {score, ratio, flip_rate, clean, rows}}, mean_ratio, worst_family, "
        "split, rows, run, clean_run, skipped}; before the reveal only copies of public rows "
        "count (docs/organizers/stress.md)."
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_submission_status(self, run: AlgorithmRun) -> str | None:
        return run.submission.status if run.submission_id else None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_manifest(self, run: AlgorithmRun) -> dict:
        return manifest_of(run=run)

    @extend_schema_field({"type": "object", "nullable": True})
    def get_reproduced(self, run: AlgorithmRun) -> dict | None:
        known = self.context.get("reproductions")  # a list's, read in one query
        return known.get(run.pk) if known is not None else reproduced_of(run=run)

    @extend_schema_field({"type": "object", "nullable": True})
    def get_robustness(self, run: AlgorithmRun) -> dict | None:
        known = self.context.get("robustness")  # a list's, read at once
        if known is not None:
            return known.get(run.pk)
        split = self.context.get("robustness_split", PUBLIC)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return robustness_for_runs(runs=[run], split=split, user=user).get(run.pk)


class AlgorithmCreateApi(APIView):
    """Upload an algorithm archive (.zip): a new algorithm, or a new version of one."""

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        name = serializers.CharField(max_length=100, required=False, allow_blank=True)

    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="algorithm_create",
        request={"multipart/form-data": InputSerializer},
        responses={
            201: AlgorithmOutputSerializer,
            **error_responses(
                {
                    400: "The archive is invalid (every problem listed) or has no name.",
                    403: "Rules not accepted, no team in the challenge, or a hidden team.",
                    404: "No such challenge.",
                    413: "The archive is larger than the limit (`too_large`), or would take "
                    "the team over its storage quota (`storage_quota`).",
                    429: "The team's upload rate is used (`rate_limited`, prediction files "
                    "and archives together); see Retry-After and retry_after.",
                }
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            return no_challenge(slug)
        # Every refusal that needs no byte of the archive comes before the body is read
        # (request.data parses and spools it): team, declared size, rate, quota.
        try:
            algorithm_upload_admission(
                challenge=challenge,
                user=request.user,
                declared_bytes=declared_length(meta=request.META),
            )
        except AlgorithmRefused as exc:
            return refused(exc)
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        try:
            version = algorithm_version_create(
                challenge=challenge,
                user=request.user,
                file=serializer.validated_data["file"],
                name=serializer.validated_data.get("name", ""),
            )
        except AlgorithmRefused as exc:
            return refused(exc)
        data = AlgorithmOutputSerializer(version.algorithm).data
        return Response(data, status=status.HTTP_201_CREATED)


class AlgorithmListApi(generics.ListAPIView):
    """The caller's teams' algorithms (organizers: all), paginated like the other lists."""

    serializer_class = AlgorithmOutputSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return algorithm_list(
            user=self.request.user, challenge_slug=self.request.GET.get("challenge")
        )

    @extend_schema(
        operation_id="algorithm_list",
        parameters=[OpenApiParameter("challenge", str, description="Only this challenge.")],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class AlgorithmDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="algorithm_detail",
        responses={200: AlgorithmOutputSerializer, **error_responses({404: "No such algorithm."})},
    )
    def get(self, request: Request, pk: int) -> Response:
        algorithm = algorithm_get(user=request.user, algorithm_pk=pk)
        if algorithm is None:
            raise NotFound("There is no such algorithm.")
        data = dict(AlgorithmOutputSerializer(algorithm).data)
        runs = list(algorithm_run_list(user=request.user, algorithm=algorithm)[:200])
        reproductions = reproductions_of(run_pks=[run.pk for run in runs])
        split = robustness_split(challenge=algorithm.challenge, user=request.user)
        data["runs"] = RunOutputSerializer(
            runs,
            many=True,
            context={
                "reproductions": reproductions,
                "robustness": robustness_for_runs(runs=runs, split=split, user=request.user),
            },
        ).data
        return Response(data)


class AlgorithmRunCreateApi(APIView):
    """Run the algorithm's latest version on tasks, or on every task of a track."""

    class InputSerializer(serializers.Serializer):
        tasks = serializers.ListField(
            child=serializers.CharField(max_length=50), required=False, max_length=200
        )
        track = serializers.CharField(max_length=50, required=False)

    parser_classes = [JSONParser, FormParser, MultiPartParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="algorithm_run_create",
        request=InputSerializer,
        responses={
            202: RunsQueuedSerializer,
            **error_responses(
                {
                    400: "Neither or both of 'tasks' and 'track', or an unknown task or track.",
                    403: "Rules not accepted, a hidden team, or the challenge has not opened "
                    "(`not_open`; after the end runs go to the post-challenge boards).",
                    404: "No such algorithm (or not one of the caller's team).",
                    409: "The algorithm has no uploaded version.",
                    429: "The team has used today's submissions, or has as many runs queued or "
                    "running as a team may (`queue_full`).",
                }
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        algorithm = algorithm_get(user=request.user, algorithm_pk=pk)
        if algorithm is None:
            raise NotFound("There is no such algorithm.")
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        try:
            runs = algorithm_runs_queue(
                algorithm=algorithm,
                user=request.user,
                task_slugs=serializer.validated_data.get("tasks", []),
                track_slug=serializer.validated_data.get("track", ""),
            )
        except AlgorithmRefused as exc:
            return refused(exc)
        return Response(
            {"runs": RunSummarySerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED
        )


# A query parameter that, when present, holds something (OpenAPI: minLength 1).
NON_EMPTY = {"type": "string", "minLength": 1}


class AlgorithmRunAdmissionApi(APIView):
    """Would a run of the caller's team on these tasks (or this track) be queued now? The
    same checks as ``POST algorithms/<id>/runs/`` (rules, team, the challenge's dates, the
    daily limits), without an algorithm: asked before uploading one (``chal algorithm
    submit``), so nothing is uploaded that cannot run. Changes nothing."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        allowed = serializers.BooleanField()
        tasks = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        operation_id="algorithm_run_admission",
        parameters=[
            # Present means given: an empty value is refused (400), never read as absent.
            OpenApiParameter(
                "track", NON_EMPTY, description="Every task of this track (not empty)."
            ),
            OpenApiParameter(
                "tasks",
                NON_EMPTY,
                description="Comma-separated task slugs (instead of `track`; not empty).",
            ),
        ],
        responses={
            200: OutputSerializer,
            **error_responses(
                {
                    400: "Neither or both of `tasks` and `track`, or an unknown task or track.",
                    403: "Rules not accepted, no team, a hidden team, or the challenge has not "
                    "opened (`not_open`: an algorithm run submits; after the end it goes to "
                    "the post-challenge boards).",
                    404: "No such challenge.",
                    429: "The team has used today's submissions, or has as many runs queued or "
                    "running as a team may (`queue_full`).",
                }
            ),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            return no_challenge(slug)
        empty = [name for name in ("track", "tasks") if request.query_params.get(name) == ""]
        if empty:
            return refused(
                AlgorithmRefused(
                    "bad_request",
                    f"'{empty[0]}' is empty: name a {'track' if empty[0] == 'track' else 'task'}"
                    " or leave the parameter out.",
                )
            )
        raw_tasks = request.query_params.get("tasks", "")
        try:
            tasks = algorithm_runs_admission(
                challenge=challenge,
                user=request.user,
                task_slugs=[t for t in raw_tasks.split(",") if t.strip()][:200],
                track_slug=request.query_params.get("track", "")[:50],
            )
        except AlgorithmRefused as exc:
            return refused(exc)
        return Response({"allowed": True, "tasks": [t.slug for t in tasks]})


class AlgorithmRunDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="algorithm_run_detail",
        parameters=[WAIT_PARAMETER],
        responses={
            200: RunOutputSerializer,
            304: None,
            **error_responses({404: "No such algorithm run."}),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        team_pk = algorithm_run_visible_team(user=request.user, run_pk=pk)
        if team_pk is None:
            raise NotFound("There is no such algorithm run.")

        def answer() -> Response:
            run = algorithm_run_get(user=request.user, run_pk=pk)
            if run is None:  # deleted while the read was held
                raise NotFound("There is no such algorithm run.")
            split = robustness_split(challenge=run.task.track.challenge, user=request.user)
            return Response(
                RunOutputSerializer(
                    run, context={"robustness_split": split, "request": request}
                ).data
            )

        return job_status_answer(
            request=request,
            state=lambda: algorithm_run_status_state(run_pk=pk),
            answer=answer,
            team_pk=team_pk,
        )


class AlgorithmRunCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="algorithm_run_cancel",
        request=None,
        responses={
            200: RunOutputSerializer,
            **error_responses(
                {
                    400: "An organizer cancelling another team's run gave no `reason`.",
                    404: "No such algorithm run.",
                    409: "The run has already finished.",
                }
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        run = algorithm_run_get(user=request.user, run_pk=pk)
        if run is None:
            raise NotFound("There is no such algorithm run.")
        reason = request.data.get("reason", "") if hasattr(request.data, "get") else ""
        try:
            run = algorithm_run_cancel(run=run, actor=request.user, reason=str(reason))
        except AlgorithmRefused as exc:
            return refused(exc)
        except ReasonRequired as exc:  # an organizer cancelling another team's run
            return Response(
                {"code": "reason_required", "detail": exc.message},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(RunOutputSerializer(AlgorithmRun.objects.get(pk=run.pk)).data)
