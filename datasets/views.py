"""Web pages of the datasets app: the task page and access-controlled file downloads."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from challenge_platform.markdown import markdown_html
from challenge_platform.rules import rules_gate
from challenge_platform.selectors import is_organizer
from datasets.downloads import ranged_file_response
from datasets.models import Task
from datasets.selectors import (
    FILE_DESCRIPTIONS,
    SOLUTION_FILE,
    task_card,
    task_file_get,
    task_file_names,
    task_get_or_404,
    task_manageable,
    task_version_current,
)

__all__ = ["markdown_html", "task_detail", "task_file", "task_file_response"]


def task_file_response(
    request: HttpRequest, *, task: Task, name: str, stored: FieldFile
) -> HttpResponse:
    """Stream ``stored`` as an attachment named ``<slug>-<name>``, never read into memory;
    ``Range`` requests get the asked bytes (206), so an interrupted download resumes."""
    return ranged_file_response(
        request, storage=stored.storage, name=stored.name, filename=f"{task.slug}-{name}"
    )


def task_detail(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    downloads = []
    if request.user.is_authenticated:
        names = task_file_names(task=task, include_solution=is_organizer(request.user))
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
            "can_manage": task_manageable(task=task, user=request.user),
            "version": task_version_current(task=task),
        },
    )


def task_file(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """A task's file for logged-in users; the solution for organizers, a 404 for the rest."""
    organizer = is_organizer(request.user)
    if name == SOLUTION_FILE and not organizer:
        raise Http404("no such file")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    task = task_get_or_404(slug=slug)
    stored = task_file_get(task=task, name=name, organizer=organizer)
    if stored is None:
        raise Http404("no such file")
    rules_gate(challenge=task.track.challenge, user=request.user)  # else: the rules page
    return task_file_response(request, task=task, name=name, stored=stored)
