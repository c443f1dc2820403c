"""The AutoGluon baseline's part of the task owner's page (registered in ``apps.ready``).

The page is scoring's (``scoring.owner_views.task_manage``); this part lists the task's last
baseline runs and queues a new one for the task's owners and organizers (the page has
checked that the user manages the task before it calls either function). Both import what
they call when first called: the section is registered at every process's start
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest

from scoring.owner_sections import OwnerSection

if TYPE_CHECKING:
    from datasets.models import Task

RUNS_SHOWN = 5


def baseline_part(task: Task) -> dict[str, Any]:
    from algorithms.selectors import baseline_run_list, run_summary

    runs = baseline_run_list(task=task).order_by("-created_at", "-pk")[:RUNS_SHOWN]
    return {"runs": [(run, run_summary(run=run)) for run in runs]}


def baseline_queue_post(request: HttpRequest, task: Task) -> None:
    from algorithms.services.baseline import BaselineRunRefused, baseline_run_queue

    try:
        run = baseline_run_queue(task=task, actor=request.user)
    except BaselineRunRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Baseline run #{run.pk} queued for {task.title}.")


BASELINE_SECTION = OwnerSection(
    key="baseline",
    template="algorithms/_task_baseline.html",
    context=baseline_part,
    post=baseline_queue_post,
)
