"""Web pages of the datasets app: the task page and access-controlled file downloads."""

from __future__ import annotations

import markdown
import nh3
from django.contrib.auth.views import redirect_to_login
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from datasets.downloads import ranged_file_response
from datasets.models import Task
from datasets.selectors import (
    FILE_DESCRIPTIONS,
    SOLUTION_FILE,
    task_card,
    task_file_get,
    task_file_names,
    task_get,
)


def markdown_html(text: str) -> SafeString:
    """Markdown rendered to HTML, then sanitized with nh3 (no script, no event handlers)."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(nh3.clean(html))  # noqa: S308 - nh3 removed everything unsafe


def task_file_response(
    request: HttpRequest, *, task: Task, name: str, stored: FieldFile
) -> HttpResponse:
    """Stream ``stored`` as an attachment named ``<slug>-<name>``, never read into memory;
    ``Range`` requests get the asked bytes (206), so an interrupted download resumes."""
    return ranged_file_response(
        request, storage=stored.storage, name=stored.name, filename=f"{task.slug}-{name}"
    )


def _task_or_404(slug: str) -> Task:
    try:
        return task_get(slug=slug)
    except Task.DoesNotExist as exc:
        raise Http404("no such task") from exc


def task_detail(request: HttpRequest, slug: str) -> HttpResponse:
    task = _task_or_404(slug)
    downloads = []
    if request.user.is_authenticated:
        names = task_file_names(task=task, include_solution=request.user.is_staff)
        downloads = [
            {
                "name": name,
                "description": FILE_DESCRIPTIONS[name],
                "url": reverse("datasets:task-file", kwargs={"slug": task.slug, "name": name}),
            }
            for name in names
        ]
    return render(
        request,
        "datasets/task_detail.html",
        {
            "task": task,
            "challenge": task.track.challenge,
            "card": task_card(task=task),
            "description_html": markdown_html(task.description),
            "downloads": downloads,
        },
    )


def task_file(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """A task's file for logged-in users; the solution for organizers, a 404 for the rest."""
    organizer = request.user.is_authenticated and request.user.is_staff
    if name == SOLUTION_FILE and not organizer:
        raise Http404("no such file")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    task = _task_or_404(slug)
    stored = task_file_get(task=task, name=name, organizer=organizer)
    if stored is None:
        raise Http404("no such file")
    return task_file_response(request, task=task, name=name, stored=stored)
