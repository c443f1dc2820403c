"""Template tags other apps' pages use to show a task's leaderboard."""

from __future__ import annotations

from django import template

from leaderboard import selectors
from leaderboard.models import Split

register = template.Library()


@register.inclusion_tag("leaderboard/_summary.html", takes_context=True)
def task_leaderboard_summary(context, task, limit: int = 10) -> dict:
    entries = selectors.leaderboard_for_task(task=task, split=Split.PUBLIC)[:limit]
    return {
        "task": task,
        "rows": [(e, [e.score]) for e in entries],
        "metrics": [task.primary_metric],
        "split": "public",
        "request": context.get("request"),
    }
