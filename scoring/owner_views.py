"""The task owner's page (docs/architecture.md §10): one task's data, references, the
parts higher apps add (the AutoGluon baseline: ``scoring.owner_sections``) and, after the reveal,
every team's submissions to it. Organizers see it for every task; anyone else gets a 404, as for
another team's submission; the members of a hidden owner team are told they no longer manage it.
The check is ``datasets.selectors.task_manage_refusal``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from challenges.split_access import private_visible
from datasets.forms import BundleSizeLimitHandler, TaskReplaceForm
from datasets.models import Task
from datasets.selectors import task_manage_refusal
from datasets.uploads import bundle_upload_guarded, task_replace_post
from datasets.version_uploads import (
    PENDING,
    VersionUploadRefused,
    task_version_upload_admission,
    task_version_upload_get,
    task_version_uploads_recent,
    version_upload_message,
)
from datasets.versions import task_versions
from scoring.models import Reference, ReferenceSource, Submission
from scoring.owner_sections import owner_section, owner_sections
from scoring.reference_selectors import (
    primary_reference,
    reference_list,
    reference_scores_sealed,
)
from scoring.services.reference_builds import reference_build_latest
from scoring.services.references import (
    ReferenceRefused,
    reference_delete,
    reference_primary_set,
    reference_upload,
    reference_upload_admission,
    reference_uploads_today,
)

LIST_LIMIT = 500

logger = logging.getLogger(__name__)


def _managed_task(request: HttpRequest, slug: str) -> Task:
    """The task ``slug`` if the user manages it; 404 for anyone else but the members of a
    hidden owner team, who are told why not (403)."""
    task = Task.objects.select_related("track__challenge", "owner_team").filter(slug=slug).first()
    refusal = None if task is None else task_manage_refusal(task=task, user=request.user)
    if task is None or (refusal is not None and refusal.code != "team_hidden"):
        raise Http404("no such task")
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    return task


@login_required
@require_http_methods(["GET", "POST"])
def task_manage(request: HttpRequest, slug: str) -> HttpResponse:
    task = _managed_task(request, slug)
    if request.method == "POST":
        section = owner_section(key=request.POST.get("section", ""))
        if section is None:
            messages.error(request, "This page has no such form; nothing was changed.")
            return redirect("scoring:task-manage", slug=task.slug)
        section.post(request, task)
        return redirect(
            f"{reverse('scoring:task-manage', kwargs={'slug': task.slug})}#{section.key}"
        )
    return _manage_page(request, task)


def _manage_page(
    request: HttpRequest, task: Task, *, refused: ReferenceRefused | None = None
) -> HttpResponse:
    """The manage page; with ``refused``, a reference upload the team's budget refused (its
    message in the references' form, at its status: 429, 413, with ``Retry-After``)."""
    challenge = task.track.challenge
    revealed = private_visible(challenge=challenge, user=request.user)
    submissions = (
        Submission.objects.filter(task=task, team__is_hidden=False)
        .select_related("team")
        .order_by("-created_at", "-pk")[:LIST_LIMIT]
        if revealed
        else None
    )
    references = reference_list(task=task)
    for reference in references:  # what this viewer may read of each (issue 25)
        reference.withheld = reference_scores_sealed(reference=reference, user=request.user)
    response = render(
        request,
        "scoring/task_manage.html",
        {
            "task": task,
            "challenge": challenge,
            "sections": [(section, section.context(task)) for section in owner_sections()],
            "submissions": submissions,
            "references": references,
            "primary": primary_reference(task=task, references=references),
            # Where the trivial baseline's build stands while the task has none (arrival).
            "trivial_build": None
            if any(r.source == ReferenceSource.TRIVIAL for r in references)
            else reference_build_latest(task=task),
            "reference_limit": settings.REFERENCE_UPLOADS_PER_DAY,
            "reference_uploads_today": reference_uploads_today(task=task),
            "versions": task_versions(task=task, user=request.user)[:10],
            "uploads": task_version_uploads_recent(task=task, limit=5, user=request.user),
            "replace_form": TaskReplaceForm(),
            "max_bytes": settings.BUNDLE_MAX_BYTES,
            "reference_error": str(refused) if refused is not None else "",
        },
        status=refused.status if refused is not None else 200,
    )
    seconds = refused.retry_seconds() if refused is not None else None
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@csrf_exempt  # checked below, once the upload's size limit is installed (as the console does)
@login_required
@require_http_methods(["GET", "POST"])
def task_data_replace(request: HttpRequest, slug: str) -> HttpResponse:
    """Replace the task's data by a new bundle version: its owners and organizers only (403
    for anyone else). A refused bundle is shown with every problem, and nothing changes."""
    task = Task.objects.select_related("track__challenge", "owner_team").filter(slug=slug).first()
    if task is None:
        raise Http404("no such task")
    refusal = task_manage_refusal(task=task, user=request.user)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    return bundle_upload_guarded(
        request=request,
        refuse=lambda message: _render_replace(request, task, TaskReplaceForm(), [message]),
        view=lambda limit: _task_data_replace(request, task, limit),
        admit=lambda declared: task_version_upload_admission(
            task=task, user=request.user, declared_bytes=declared
        ),
        refused=lambda exc: _render_replace(request, task, TaskReplaceForm(), exc.problems, exc),
    )


def _task_data_replace(
    request: HttpRequest, task: Task, limit: BundleSizeLimitHandler
) -> HttpResponse:
    if request.method != "POST":
        return _render_replace(request, task, TaskReplaceForm(), [])
    posted = task_replace_post(
        request=request,
        task=task,
        limit=limit,
        unexpected="The upload failed on an unexpected error (it is in the server log);"
        " nothing was changed.",
    )
    if posted.upload is None:
        return _render_replace(request, task, posted.form, posted.problems, posted.refused)
    messages.success(request, version_upload_message(upload=posted.upload))
    return redirect("scoring:task-data-upload", slug=task.slug, pk=posted.upload.pk)


def _render_replace(
    request: HttpRequest,
    task: Task,
    form: TaskReplaceForm,
    problems: list[str],
    refused: VersionUploadRefused | None = None,
) -> HttpResponse:
    """The data page: the form (with the problems of a refused upload, at its status: 413,
    429 with ``Retry-After``), the recent uploads and the versions."""
    response = render(
        request,
        "scoring/task_data_replace.html",
        {
            "task": task,
            "form": form,
            "problems": problems,
            "versions": task_versions(task=task, user=request.user)[:10],
            "uploads": task_version_uploads_recent(task=task, user=request.user),
            "max_bytes": settings.BUNDLE_MAX_BYTES,
        },
        status=refused.http_status if refused is not None and refused.http_status != 400 else 200,
    )
    seconds = refused.retry_seconds() if refused is not None else None
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@login_required
@require_GET
def task_data_upload(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One uploaded data version and where its check stands (the page polls its status and
    shows the result: the version it became, or every problem)."""
    task = _managed_task(request, slug)
    upload = task_version_upload_get(task=task, pk=pk, user=request.user)
    if upload is None:
        raise Http404("no such upload")
    pending = upload.status in PENDING
    return render(
        request,
        "scoring/task_data_upload.html",
        {
            "task": task,
            "upload": upload,
            "message": version_upload_message(upload=upload),
            "pending": pending,
            "poll_url": reverse("api-task-version-upload", kwargs={"slug": slug, "pk": pk}),
        },
    )


@login_required
@require_http_methods(["POST"])
def task_references_manage(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner page's reference forms: upload a named file, choose the primary, remove."""
    task = _managed_task(request, slug)
    action = request.POST.get("action")
    if action == "upload":  # the team's budget first: a file over it is neither read nor scored
        try:
            reference_upload_admission(task=task, user=request.user)
        except ReferenceRefused as exc:
            return _reference_refused(request, task, exc)
    try:
        if action == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise ReferenceRefused("Choose a reference file to upload.")
            reference = reference_upload(
                task=task,
                name=request.POST.get("name", ""),
                file=upload,
                user=request.user,
                make_primary=bool(request.POST.get("primary")),
            )
            if reference_scores_sealed(reference=reference, user=request.user):
                messages.success(
                    request,
                    f"Reference '{reference.name}' uploaded and scored. Its scores are shown "
                    "once the private leaderboard is revealed, because your team competes on "
                    "this task.",
                )
            else:
                messages.success(request, f"Reference '{reference.name}' uploaded and scored.")
        elif action == "primary":
            chosen = reference_primary_set(
                task=task, name=request.POST.get("reference") or None, user=request.user
            )
            messages.success(
                request,
                f"Primary reference: {chosen.name}." if chosen else "Primary reference: default.",
            )
        elif action == "delete":
            reference = Reference.objects.filter(
                task=task, pk=request.POST.get("reference_id") or 0, source=ReferenceSource.UPLOAD
            ).first()
            if reference is None:
                raise ReferenceRefused("There is no such uploaded reference.")
            reference_delete(reference=reference, user=request.user)
            messages.success(request, f"Reference '{reference.name}' removed.")
        else:
            raise ReferenceRefused("Unknown action.")
    except ReferenceRefused as exc:
        return _reference_refused(request, task, exc)
    return redirect(f"{reverse('scoring:task-manage', kwargs={'slug': task.slug})}#references")


def _reference_refused(request: HttpRequest, task: Task, exc: ReferenceRefused) -> HttpResponse:
    """An upload over a limit (the team's rate, the day's, the storage quota: 429, 413) is
    shown in the page at its status; any other refusal goes back to the page as before."""
    if exc.status in (413, 429):
        return _manage_page(request, task, refused=exc)
    messages.error(request, str(exc))
    return redirect(f"{reverse('scoring:task-manage', kwargs={'slug': task.slug})}#references")
