"""Template tags other apps' pages use to show a task's leaderboard."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser

from leaderboard import selectors
from leaderboard.boards.shown import board_hides, rows_for
from leaderboard.models import Split

register = template.Library()


@register.inclusion_tag("leaderboard/_summary.html", takes_context=True)
def task_leaderboard_summary(context, task, limit: int = 10) -> dict:
    entries = selectors.leaderboard_for_task(task=task, split=Split.PUBLIC)[:limit]
    request = context.get("request")
    user = getattr(request, "user", None) or AnonymousUser()
    # A ladder board shows its entries as the reader may see them (leaderboard.boards.shown).
    hides = board_hides(task=task, split=Split.PUBLIC, user=user)
    entries = rows_for(task=task, split=Split.PUBLIC, rows=entries, hides=hides)
    return {
        "task": task,
        "intervals": not hides,
        "rows": [(e, [e.score]) for e in entries],
        "metrics": [task.primary_metric],
        "split": "public",
        "request": context.get("request"),
    }
