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
from django.views.decorators.http import require_http_methods

from challenge_platform.split_access import private_visible
from datasets.forms import BundleSizeLimitHandler, TaskReplaceForm
from datasets.models import Task
from datasets.selectors import task_manage_refusal
from datasets.uploads import bundle_upload_guarded, task_replace_post
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
        section = owner_section(request.POST.get("section", ""))
        if section is None:
            messages.error(request, "This page has no such form; nothing was changed.")
            return redirect("scoring:task-manage", slug=task.slug)
        section.post(request, task)
        return redirect(
            f"{reverse('scoring:task-manage', kwargs={'slug': task.slug})}#{section.key}"
        )
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
    return render(
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
            "versions": task.versions.select_related("created_by")[:10],
            "replace_form": TaskReplaceForm(),
            "max_bytes": settings.BUNDLE_MAX_BYTES,
        },
    )


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
        request,
        refuse=lambda message: _render_replace(request, task, TaskReplaceForm(), [message]),
        view=lambda limit: _task_data_replace(request, task, limit),
    )


def _task_data_replace(
    request: HttpRequest, task: Task, limit: BundleSizeLimitHandler
) -> HttpResponse:
    if request.method != "POST":
        return _render_replace(request, task, TaskReplaceForm(), [])
    form, problems, replaced = task_replace_post(
        request,
        task=task,
        limit=limit,
        unexpected="The replacement failed on an unexpected error (it is in the server log);"
        " nothing was changed.",
    )
    if replaced is None:
        return _render_replace(request, task, form, problems)
    messages.success(request, replaced.summary())
    for warning in replaced.warnings:
        messages.warning(request, f"{task.slug}: {warning}")
    return redirect(f"{reverse('scoring:task-manage', kwargs={'slug': task.slug})}#data")


def _render_replace(
    request: HttpRequest, task: Task, form: TaskReplaceForm, problems: list[str]
) -> HttpResponse:
    return render(
        request,
        "scoring/task_data_replace.html",
        {
            "task": task,
            "form": form,
            "problems": problems,
            "versions": task.versions.select_related("created_by")[:10],
            "max_bytes": settings.BUNDLE_MAX_BYTES,
        },
    )


@login_required
@require_http_methods(["POST"])
def task_references_manage(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner page's reference forms: upload a named file, choose the primary, remove."""
    task = _managed_task(request, slug)
    action = request.POST.get("action")
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
        messages.error(request, str(exc))
    return redirect(f"{reverse('scoring:task-manage', kwargs={'slug': task.slug})}#references")
