"""The task page, ``/tasks/<slug>/``: composed here, the lowest layer that knows all its parts
(the task, its data and card of ``datasets``, the submit panel of ``scoring``, the board's
summary and the champion panel of ``leaderboard``), so its template loads no tags of a layer
above its app. Its URL keeps its name in the ``datasets`` namespace
(``challenge_platform.urls``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from challenge_platform.markdown import markdown_html
from challenge_platform.selectors import is_organizer
from datasets.selectors import (
    FILE_DESCRIPTIONS,
    task_card,
    task_file_names,
    task_get_or_404,
    task_manageable,
    task_version_current,
)
from leaderboard.champion.page import champion_panel


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
        "leaderboard/task_detail.html",
        {
            "task": task,
            "challenge": task.track.challenge,
            "card": task_card(task=task),
            "description_html": markdown_html(task.description),
            "downloads": downloads,
            "can_manage": task_manageable(task=task, user=request.user),
            "version": task_version_current(task=task),
            "champion": champion_panel(task=task, user=request.user),
        },
    )
