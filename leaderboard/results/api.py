"""``GET /api/v1/tracks/<slug>/results.parquet`` and ``results.csv``: a track's results as data
(:mod:`leaderboard.results.export`), and ``results/croissant.json``, their Croissant description.

The files hold what the caller may read (the private split once revealed, or for
organizers); Token, HTTP Basic (an API token as the password, as mlcroissant sends it) and
session authentication are accepted, and anonymous callers get the public split. The CSV
is safe to open in a spreadsheet (``common.export``).
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from challenges.models import Track
from common.export import rows_to_csv
from datasets.api import DOWNLOAD_AUTHENTICATION, IgnoreClientContentNegotiation
from datasets.core import croissant
from leaderboard.results.export import COLUMNS, ResultRow, results_splits, track_results

PARQUET_TYPE = "application/vnd.apache.parquet"
SCHEMA = pa.schema(
    [
        ("method", pa.string()),
        ("team", pa.string()),
        ("task", pa.string()),
        ("split", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("direction", pa.string()),
        ("cpu_seconds", pa.float64()),
        ("peak_memory_mb", pa.float64()),
        ("wall_seconds", pa.float64()),
        ("data_version", pa.int64()),
        ("archive_sha256", pa.string()),
        ("reproduced", pa.float64()),
    ]
)
assert tuple(SCHEMA.names) == COLUMNS
WORDS = {
    "method": "the algorithm and version that made the result, a reference's name, or empty"
    " for a team's uploaded prediction file",
    "team": "the team (empty for a reference)",
    "task": "the task's slug",
    "split": "public or private (the test rows the value is computed on)",
    "metric": "the metric's name; delta: the score minus the AutoGluon baseline's",
    "value": "the metric's value",
    "ci_low": "lower end of its 95% bootstrap interval (when computed)",
    "ci_high": "upper end of its 95% bootstrap interval (when computed)",
    "direction": "higher or lower: which way the metric is better",
    "cpu_seconds": "CPU-seconds of the algorithm run that made the result",
    "peak_memory_mb": "its peak memory, in MB",
    "wall_seconds": "its wall-clock seconds",
    "data_version": "the task's data version the method saw",
    "archive_sha256": "sha256 of the algorithm archive that ran",
    "reproduced": "share of identical predictions in a re-run on another worker (empty: none)",
}
DTYPES = {pa.string(): "string", pa.float64(): "float64", pa.int64(): "int64"}


def results_parquet(*, rows: list[ResultRow]) -> bytes:
    records = [dict(zip(COLUMNS, r.values(), strict=True)) for r in rows]
    table = pa.Table.from_pylist(records, schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def results_csv(*, rows: list[ResultRow]) -> str:
    return rows_to_csv(COLUMNS, (r.values() for r in rows))


def _track(slug: str) -> Track:
    return get_object_or_404(Track.objects.select_related("challenge"), slug=slug)


def _attachment(body: bytes | str, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-cache"  # the private split depends on the caller
    response["Vary"] = "Authorization, Cookie"
    return response


FILE_RESPONSES = {
    404: OpenApiResponse(description="No such track."),
}


class TrackResultsParquetApi(APIView):
    """Every result of the track as one Parquet table (docs/participants/formats.md): one row per
    method, task, split you may see and metric. Before the reveal, the public split only."""

    permission_classes = [AllowAny]
    authentication_classes = DOWNLOAD_AUTHENTICATION
    content_negotiation_class = IgnoreClientContentNegotiation

    @extend_schema(
        operation_id="track_results_parquet",
        responses={
            (200, PARQUET_TYPE): OpenApiResponse(response=OpenApiTypes.BINARY),
            **FILE_RESPONSES,
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        track = _track(slug)
        body = results_parquet(rows=track_results(track=track, user=request.user))
        return _attachment(
            body, content_type=PARQUET_TYPE, filename=f"{track.slug}-results.parquet"
        )


class TrackResultsCsvApi(APIView):
    """The same table as ``results.parquet``, as CSV (formula-safe)."""

    permission_classes = [AllowAny]
    authentication_classes = DOWNLOAD_AUTHENTICATION
    content_negotiation_class = IgnoreClientContentNegotiation

    @extend_schema(
        operation_id="track_results_csv",
        responses={
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR),
            **FILE_RESPONSES,
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        track = _track(slug)
        body = results_csv(rows=track_results(track=track, user=request.user))
        return _attachment(
            body, content_type="text/csv; charset=utf-8", filename=f"{track.slug}-results.csv"
        )


class TrackResultsCroissantApi(APIView):
    """The Croissant 1.1 description of the track's results files: a live dataset (the boards
    change, so no checksum), record set ``results`` read from ``results.parquet``."""

    permission_classes = [AllowAny]
    authentication_classes = DOWNLOAD_AUTHENTICATION

    @extend_schema(
        operation_id="track_results_croissant",
        responses={
            (200, "application/ld+json"): OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="Croissant 1.1 JSON-LD"
            ),
            **FILE_RESPONSES,
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        track = _track(slug)
        doc = results_croissant(
            track=track,
            splits=results_splits(track=track, user=request.user),
            absolute=request.build_absolute_uri,
        )
        response = HttpResponse(json.dumps(doc, indent=2), content_type=croissant.MEDIA_TYPE)
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Authorization, Cookie"
        return response


def results_croissant(*, track: Track, splits: list[str], absolute) -> dict:
    """The Croissant JSON-LD of ``track``'s results as a reader of ``splits`` gets them."""
    challenge = track.challenge
    files = [
        croissant.FileRef(
            name=f"results.{suffix}",
            url=absolute(reverse(f"api-track-results-{suffix}", kwargs={"slug": track.slug})),
            description=f"every result of the track ({suffix.upper()})",
        )
        for suffix in ("parquet", "csv")
    ]
    table = croissant.Table(
        id="results",
        source="results.parquet",
        columns=[
            croissant.Column(f.name, DTYPES[f.type], description=WORDS[f.name]) for f in SCHEMA
        ],
        description="one row per method, task, split and metric",
    )
    card = croissant.Card(
        name=f"{track.title}: results",
        description=(
            f"Every result of the {track.title} track of {challenge.title}: each method's"
            " (teams' entries, references and baselines, and every algorithm the platform ran"
            " on every task) value of each metric on each split"
            f" ({' and '.join(splits)} here), with its interval, its run's cost and provenance."
        ),
        url=absolute(reverse("leaderboard:track", kwargs={"slug": track.slug})),
        date_published=challenge.start,
        keywords=[track.title, challenge.title, "benchmark results"],
        catalog=(
            challenge.title,
            absolute(reverse("challenge-detail", kwargs={"slug": challenge.slug})),
        ),
        live=True,
    )
    return croissant.dataset_jsonld(
        card=card, files=files, tables=[table], terms={"tc:splits": list(splits)}
    )
