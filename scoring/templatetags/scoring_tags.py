"""Template tags other apps' pages use to offer the submission form."""

from __future__ import annotations

import uuid

from django import template

from challenges.rules import rules_accepted
from challenges.selectors import team_for_user
from scoring import selectors

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """A scoring time as people read it: ``37 ms`` under a second, ``2.41 s`` from one on."""
    if seconds is None:
        return ""
    if seconds < 0.9995:
        milliseconds = seconds * 1000
        return "< 1 ms" if milliseconds < 1 else f"{milliseconds:.0f} ms"
    return f"{seconds:.2f} s"


@register.simple_tag
def new_upload_key() -> str:
    """A fresh key for one submit form (``SubmissionForm.idempotency_key``)."""
    return uuid.uuid4().hex


@register.inclusion_tag("scoring/_submit_panel.html", takes_context=True)
def task_submit_panel(context, task) -> dict:
    """The submit form with the team and today's remaining submissions (for the task page)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    team = usage = None
    if user is not None and user.is_authenticated:
        team = team_for_user(user=user, challenge=task.track.challenge)
        usage = selectors.submission_daily_usage(team=team, task=task) if team else None
    rules_pending = user is not None and not rules_accepted(
        challenge=task.track.challenge, user=user
    )
    return {
        "task": task,
        "team": team,
        "usage": usage,
        "request": request,
        "user": user,
        "rules_pending": rules_pending,
        "remaining": max(usage.limit - usage.used, 0) if usage else None,
    }
