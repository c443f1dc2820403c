"""The task page, ``/tasks/<slug>/``: composed here, the lowest layer that knows all its parts
(the task, its data and card of ``datasets``, the submit panel of ``scoring``, the board's
summary and the champion panel of ``leaderboard``), so its template loads no tags of a layer
above its app. Its URL keeps its name in the ``datasets`` namespace
(``challenge_platform.urls``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from challenges.markdown import stored_html
from challenges.selectors import is_organizer
from datasets.selectors import (
    FILE_DESCRIPTIONS,
    task_card,
    task_file_names,
    task_get_or_404,
    task_manageable,
    task_version_current,
)
from datasets.versions import task_versions
from discussion.selectors import thread_count_for_task
from leaderboard.champion.page import champion_panel


def task_detail(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    downloads = []
    if request.user.is_authenticated:
        names = task_file_names(task=task, include_solution=is_organizer(user=request.user))
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
        "leaderboard/task_detail.html",
        {
            "task": task,
            "challenge": task.track.challenge,
            "card": task_card(task=task),
            "description_html": stored_html(value=task.description_html),
            "downloads": downloads,
            "can_manage": task_manageable(task=task, user=request.user),
            "version": task_version_current(task=task),
            "croissant_url": reverse("api-task-croissant", kwargs={"slug": task.slug}),
            "versions": _versions(task, request.user),
            "champion": champion_panel(task=task, user=request.user),
            "thread_count": thread_count_for_task(task_id=task.pk),
        },
    )


def _versions(task, user) -> list[dict]:
    """The task's data versions, newest first, with what changed and their Croissant."""
    path = reverse("api-task-croissant", kwargs={"slug": task.slug})
    return [
        {
            "number": v.number,
            "created_at": v.created_at,
            "note": v.note,
            "train_rows": v.train_rows,
            "test_rows": v.test_rows,
            "changes": v.changes,  # counted when the version was uploaded (never here)
            "croissant_url": f"{path}?version={v.number}",
            "current": v.number == task.data_version,
        }
        for v in task_versions(task=task, user=user)
    ]
