"""The AutoGluon baseline's part of the task owner's page (registered in ``apps.ready``).

The page is scoring's (``scoring.owner_views.task_manage``); this part lists the task's last
baseline runs and queues a new one for the task's owners and organizers (the page has
checked that the user manages the task before it calls either function). The queueing
service is imported when a baseline is queued: this module is imported in every process at
start (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Receivers and tasks import
services at call time").
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from algorithms.selectors import baseline_run_list, run_summary
from datasets.models import Task
from scoring.owner_sections import OwnerSection

RUNS_SHOWN = 5


def baseline_part(task: Task) -> dict[str, Any]:
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
