"""Web pages of the algorithms app: list and upload, detail with live run status."""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from algorithms.forms import AlgorithmUploadForm
from algorithms.models import ACTIVE, Algorithm
from algorithms.selectors import (
    algorithm_get,
    algorithm_list,
    algorithm_run_get,
    algorithm_run_list,
)
from algorithms.services.benchmark import benchmark_mark, benchmark_member_ids
from algorithms.services.common import AlgorithmRefused
from algorithms.services.manifest import manifest_of, reproductions_of
from algorithms.services.runs import algorithm_run_cancel, algorithm_runs_queue
from algorithms.services.upload import algorithm_version_create
from algorithms.stress_selectors import robustness_for_runs, robustness_split
from challenges.audit import ReasonRequired
from challenges.markdown import stored_html
from challenges.models import Challenge
from challenges.selectors import is_organizer, user_is_member
from scoring.services.lifecycle import PENDING as SUBMISSION_PENDING


def _upload_challenges(request: HttpRequest) -> list[Challenge]:
    return list(
        Challenge.objects.filter(teams__memberships__user=request.user).distinct().order_by("title")
    )


@login_required
@require_GET
def algorithm_list_page(request: HttpRequest) -> HttpResponse:
    algorithms = list(algorithm_list(user=request.user).prefetch_related("versions"))
    form = AlgorithmUploadForm(challenges=_upload_challenges(request))
    return render(
        request, "algorithms/algorithm_list.html", {"algorithms": algorithms, "form": form}
    )


@login_required
@require_POST
def algorithm_upload(request: HttpRequest) -> HttpResponse:
    form = AlgorithmUploadForm(request.POST, request.FILES, challenges=_upload_challenges(request))
    if not form.is_valid():
        messages.error(request, "Choose a challenge and a .zip archive.")
        return redirect("algorithms:list")
    challenge = Challenge.objects.get(slug=form.cleaned_data["challenge"])
    try:
        version = algorithm_version_create(
            challenge=challenge,
            user=request.user,
            file=form.cleaned_data["file"],
            name=form.cleaned_data["name"],
        )
    except AlgorithmRefused as exc:
        algorithms = list(algorithm_list(user=request.user).prefetch_related("versions"))
        response = render(
            request,
            "algorithms/algorithm_list.html",
            {"algorithms": algorithms, "form": form, "problems": exc.message.splitlines()},
            status=exc.http_status,
        )
        if exc.retry_after is not None:  # the team's upload rate: when to try again
            seconds = (exc.retry_after - timezone.now()).total_seconds()
            response["Retry-After"] = str(max(math.ceil(seconds), 0))
        return response
    messages.success(request, f"{version.algorithm.name} version {version.number} uploaded.")
    return redirect("algorithms:detail", pk=version.algorithm_id)


@login_required
@require_GET
def algorithm_detail(request: HttpRequest, pk: int) -> HttpResponse:
    algorithm = algorithm_get(user=request.user, algorithm_pk=pk)
    if algorithm is None:
        raise Http404("no such algorithm")
    return _detail_page(request, algorithm)


def _detail_page(request: HttpRequest, algorithm: Algorithm, *, status: int = 200) -> HttpResponse:
    """The algorithm's page (``status``: a refusal shown on it, in the page's messages)."""
    in_benchmark = benchmark_member_ids(team=algorithm.team)
    versions = [
        {
            "version": v,
            "description_html": stored_html(value=v.description_html),
            "in_benchmark": v.pk in in_benchmark,
        }
        for v in algorithm.versions.order_by("-number").select_related("created_by")
    ]
    runs = list(algorithm_run_list(user=request.user, algorithm=algorithm)[:200])
    reproductions = reproductions_of(run_pks=[run.pk for run in runs])
    split = robustness_split(challenge=algorithm.challenge, user=request.user)
    robustness = robustness_for_runs(runs=runs, split=split, user=request.user)
    for run in runs:  # the run's manifest, reproduction and robustness, shown under its row
        run.manifest_shown = manifest_of(run=run)
        run.reproduced_shown = reproductions.get(run.pk)
        run.robustness_shown = robustness.get(run.pk)
    tracks = list(algorithm.challenge.tracks.order_by("order", "slug").prefetch_related("tasks"))
    return render(
        request,
        "algorithms/algorithm_detail.html",
        {
            "algorithm": algorithm,
            "versions": versions,
            "member": user_is_member(team=algorithm.team, user=request.user),
            "runs": runs,
            "tracks": tracks,
            "organizer": is_organizer(user=request.user)
            and not user_is_member(team=algorithm.team, user=request.user),
            "poll_url": reverse("api-algorithm-detail", args=[algorithm.pk]),
            "pending": any(
                run.status in ACTIVE
                or (run.submission_id and run.submission.status in SUBMISSION_PENDING)
                for run in runs
            ),
        },
        status=status,
    )


@login_required
@require_POST
def algorithm_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The "run on every task of the track" button (or one task: ``task``)."""
    algorithm = algorithm_get(user=request.user, algorithm_pk=pk)
    if algorithm is None:
        raise Http404("no such algorithm")
    task = request.POST.get("task", "")
    try:
        runs = algorithm_runs_queue(
            algorithm=algorithm,
            user=request.user,
            task_slugs=[task] if task else [],
            track_slug="" if task else request.POST.get("track", ""),
        )
    except AlgorithmRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{len(runs)} run{'s' if len(runs) != 1 else ''} queued.")
    return HttpResponseRedirect(reverse("algorithms:detail", args=[algorithm.pk]))


@login_required
@require_POST
def algorithm_run_cancel_page(request: HttpRequest, pk: int) -> HttpResponse:
    run = algorithm_run_get(user=request.user, run_pk=pk)
    if run is None:
        raise Http404("no such run")
    try:
        algorithm_run_cancel(run=run, actor=request.user, reason=request.POST.get("reason", ""))
    except (AlgorithmRefused, ReasonRequired) as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("algorithms:detail", args=[run.version.algorithm_id]))


MARKS = {"in": True, "out": False, "default": None}


@login_required
@require_POST
def algorithm_version_mark(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The version's benchmark buttons: in, out, back to the default, or final."""
    algorithm = algorithm_get(user=request.user, algorithm_pk=pk)
    version = algorithm.versions.filter(number=number).first() if algorithm else None
    if version is None:
        raise Http404("no such version")
    mark = request.POST.get("benchmark", "")
    final = request.POST.get("final", "")
    if mark not in MARKS and final not in ("1", "0"):
        messages.error(request, "Choose in, out or default for the benchmark, or final.")
        return HttpResponseRedirect(reverse("algorithms:detail", args=[pk]))
    try:
        benchmark_mark(
            version=version,
            user=request.user,
            in_benchmark=MARKS.get(mark, ...),
            final={"1": True, "0": False}.get(final),
        )
    except AlgorithmRefused as exc:
        messages.error(request, exc.message)
        if exc.code == "benchmark_cap":  # the page again, saying which are in, with 409
            return _detail_page(request, algorithm, status=exc.http_status)
    else:
        messages.success(request, f"Version {number} updated.")
    return HttpResponseRedirect(reverse("algorithms:detail", args=[pk]))
