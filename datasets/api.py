"""REST API v1 of the datasets app: browse tasks (public), download their files (logged in)."""

from __future__ import annotations

import json

from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from knox.auth import TokenAuthentication
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.basic_token import BasicTokenAuthentication
from challenges.api.errors import error_responses, refusal_response
from challenges.models import Challenge, Track
from challenges.rules import rules_gate
from challenges.selectors import is_organizer
from datasets.core.croissant import MEDIA_TYPE
from datasets.downloads import ranged_file_response
from datasets.formats import croissant_url, task_croissant
from datasets.models import Task, TaskVersion
from datasets.phase_versions import PhaseNotStarted, version_asked
from datasets.selectors import (
    task_file_get,
    task_file_names,
    task_get_or_404,
    task_list,
    task_public_meta,
)
from datasets.versions import task_version_get, version_file
from datasets.views import task_file_response
from kinds import kind_get, kind_names

# Token, then HTTP Basic with a token as the password (what mlcroissant and requests' .netrc
# send), then the session: the downloads a data tool makes by itself accept all three.
DOWNLOAD_AUTHENTICATION = [TokenAuthentication, BasicTokenAuthentication, SessionAuthentication]


def requested_version(request: Request, task: Task) -> TaskVersion | None:
    """The data version asked by ``?version=N`` or ``?phase=<slug>`` (None: the current
    one); Http404 when the task has no such version or phase, or the value is not a version
    number; :class:`PhaseNotStarted` (403) for a phase's data before its start
    (``datasets.phase_versions.version_asked``)."""
    return version_asked(
        task=task,
        user=request.user,
        number=request.query_params.get("version"),
        phase_slug=request.query_params.get("phase"),
    )


class TaskListApi(generics.ListAPIView):
    """Every task, optionally of one challenge and/or track. Public."""

    class FilterSerializer(serializers.Serializer):
        challenge = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="only the tasks of this challenge (slug); an unknown slug lists none",
        )
        track = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="only the tasks of this track (slug); an unknown slug lists none",
        )

    class OutputSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        title = serializers.CharField()
        kind = serializers.CharField()
        primary_metric = serializers.CharField()
        train_rows = serializers.IntegerField()
        test_rows = serializers.IntegerField()
        track = serializers.SlugField(source="track.slug")
        challenge = serializers.SlugField(source="track.challenge.slug")
        url = serializers.SerializerMethodField()

        def get_url(self, task: Task) -> str:
            path = reverse("api-task-detail", kwargs={"slug": task.slug})
            return self.context["request"].build_absolute_uri(path)

    serializer_class = OutputSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        found = {}
        for name, model in (("challenge", Challenge), ("track", Track)):
            if name in wanted:
                found[name] = model.objects.filter(slug=wanted[name]).first()
                if found[name] is None:  # a filter that matches nothing lists nothing
                    return Task.objects.none()
        return task_list(**found)

    @extend_schema(operation_id="tasks_list", parameters=[FilterSerializer])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class TaskDetailApi(APIView):
    """One task: its schema, classes, metric, dataset card and file URLs. Public."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        class RefSerializer(serializers.Serializer):
            slug = serializers.SlugField()
            title = serializers.CharField()

        class ColumnSerializer(serializers.Serializer):
            name = serializers.CharField()
            type = serializers.ChoiceField(choices=["text", "numeric", "categorical", "image"])

        slug = serializers.SlugField()
        title = serializers.CharField()
        description = serializers.CharField(help_text="Markdown")
        kind = serializers.ChoiceField(choices=kind_names())
        columns = ColumnSerializer(many=True, help_text="feature columns, in file order")
        classes = serializers.ListField(child=serializers.CharField())
        primary_metric = serializers.CharField()
        public_fraction = serializers.FloatField()
        train_rows = serializers.IntegerField()
        test_rows = serializers.IntegerField()
        data_version = serializers.IntegerField(
            help_text="the number of the data version the files and card are of (1: as imported)"
        )
        card = serializers.JSONField(help_text="the dataset card (card.json) of that version")
        output_columns = serializers.SerializerMethodField(
            help_text="the columns every prediction file must have, e.g. id and label"
        )
        optional_output_columns = serializers.SerializerMethodField(
            help_text="the columns a prediction file may add (proba_<class>, score)"
        )
        kind_options = serializers.SerializerMethodField(
            help_text="the kind's own task.yaml options as imported, e.g. regression's"
            " tolerance: a row is right (for the flips) when its absolute error is within it"
        )
        track = RefSerializer()
        challenge = RefSerializer(source="track.challenge")
        files = serializers.SerializerMethodField(
            help_text="download URL of each file, by name (logged-in users only)"
        )
        croissant = serializers.SerializerMethodField(
            help_text="the data's Croissant 1.1 description (docs/participants/formats.md)"
        )

        @extend_schema_field({"type": "array", "items": {"type": "string"}})
        def get_output_columns(self, task: Task) -> list[str]:
            return task_public_meta(task=task)["output_columns"]

        @extend_schema_field({"type": "array", "items": {"type": "string"}})
        def get_optional_output_columns(self, task: Task) -> list[str]:
            return task_public_meta(task=task)["optional_output_columns"]

        @extend_schema_field({"type": "object", "additionalProperties": {}})
        def get_kind_options(self, task: Task) -> dict[str, object]:
            return kind_get(task.kind).public_options(task.meta or {})

        def get_croissant(self, task: Task) -> str:
            request = self.context["request"]
            return croissant_url(task=task, version=None, absolute=request.build_absolute_uri)

        def get_files(self, task: Task) -> dict[str, str]:
            request = self.context["request"]
            return {
                name: request.build_absolute_uri(
                    reverse("api-task-file", kwargs={"slug": task.slug, "name": name})
                )
                for name in task_file_names(task=task)
            }

    @extend_schema(operation_id="tasks_retrieve", responses={200: OutputSerializer})
    def get(self, request: Request, slug: str) -> Response:
        task = task_get_or_404(slug=slug)
        return Response(self.OutputSerializer(task, context={"request": request}).data)


class IgnoreClientContentNegotiation(BaseContentNegotiation):
    """A download answers with the file whatever ``Accept`` says; errors stay JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return (renderers[0], renderers[0].media_type)


VERSION_PARAMETER = OpenApiParameter(
    "version",
    int,
    required=False,
    description="a data version's number (`GET tasks/<slug>/versions/`); default: the current",
)
PHASE_PARAMETER = OpenApiParameter(
    "phase",
    str,
    required=False,
    description="a phase's slug: the data that phase's entries are scored on (a phase's own "
    "test set is refused 403 `phase_not_started` before the phase starts)",
)
NOT_STARTED = "`phase_not_started`: the data of a phase that has not started yet."


class TaskFileDownloadApi(APIView):
    """Stream ``train.csv``, ``train.parquet``, ``test.csv``, ``test.parquet`` or ``images.zip``,
    of the current data version or of the one ``?version=N`` names.

    Token, HTTP Basic (an API token as the password) or session authentication; anonymous
    callers get 401.
    """

    permission_classes = [IsAuthenticated]
    authentication_classes = DOWNLOAD_AUTHENTICATION
    content_negotiation_class = IgnoreClientContentNegotiation

    @extend_schema(
        operation_id="tasks_files_retrieve",
        parameters=[VERSION_PARAMETER, PHASE_PARAMETER],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="the file, as an attachment"
            ),
            (206, "application/octet-stream"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="the bytes asked with `Range: bytes=first-last` (one range; "
                "`Content-Range` says which); with `If-Range` naming another version of the "
                "file, the whole file (200) instead",
            ),
            416: OpenApiResponse(
                description="the range starts past the end; `Content-Range: bytes */<size>`"
            ),
            **error_responses(
                {
                    401: "Not logged in.",
                    403: f"The challenge's rules are not accepted, or {NOT_STARTED}",
                    404: "No such task, data version, phase, or file of it.",
                }
            ),
        },
    )
    def get(self, request: Request, slug: str, name: str):
        task = task_get_or_404(slug=slug)
        try:
            version = requested_version(request, task)
        except PhaseNotStarted as exc:
            return refusal_response(exc)
        if version is not None and version.number != task.data_version:
            # an older version's public files (never its solution), as they were
            found = version_file(version=version, name=name)
            if found is None:
                raise Http404("no such file")
            rules_gate(challenge=task.track.challenge, user=request.user)  # else: 403
            return ranged_file_response(
                request=request,
                storage=found.storage,
                name=found.name,
                filename=f"{task.slug}-v{version.number}-{name}",
            )
        stored = task_file_get(task=task, name=name, organizer=is_organizer(user=request.user))
        if stored is None:
            raise Http404("no such file")
        rules_gate(challenge=task.track.challenge, user=request.user)  # else: 403
        return task_file_response(request, task=task, name=name, stored=stored)


class TaskCroissantApi(APIView):
    """The task's data described in Croissant 1.1 JSON-LD (MLCommons; ``mlcroissant`` loads
    it): card, licence, creators, citation, version and date, a ``FileObject`` per file the
    caller may download (sha256, content URL) and the record sets ``train`` and ``test``
    read from them, with each column's type and role; never the solution. Anonymous callers,
    and those who may not download yet (rules not accepted), get the card alone: what the
    public task page shows. ``?version=N`` describes an earlier data version."""

    permission_classes = [AllowAny]
    authentication_classes = DOWNLOAD_AUTHENTICATION

    @extend_schema(
        operation_id="tasks_croissant_retrieve",
        parameters=[VERSION_PARAMETER, PHASE_PARAMETER],
        responses={
            (200, "application/ld+json"): OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="Croissant 1.1 JSON-LD"
            ),
            **error_responses(
                {403: NOT_STARTED, 404: "No such task, or no such data version or phase."}
            ),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        task = task_get_or_404(slug=slug)
        try:
            version = requested_version(request, task)
        except PhaseNotStarted as exc:
            return refusal_response(exc)
        if version is None:
            version = task_version_get(task=task, number=task.data_version)
        if version is None:  # a task without versions: nothing to describe
            raise Http404("no such data version")
        doc = task_croissant(
            task=task, version=version, user=request.user, absolute=request.build_absolute_uri
        )
        response = HttpResponse(json.dumps(doc, indent=2), content_type=MEDIA_TYPE)
        response["Cache-Control"] = "private, no-cache"  # what it lists depends on the caller
        response["Vary"] = "Authorization, Cookie"
        return response
