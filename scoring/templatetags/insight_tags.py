"""Template tags of the submission detail page: the insight panel (its ``percent`` filter is
``kinds.templatetags.formatting``'s)."""

from __future__ import annotations

from typing import Any

from django import template

from challenges.phases import submission_figures_visible
from scoring.insight import submission_final_selection, submission_insight
from scoring.models import Submission, SubmissionStatus

register = template.Library()


@register.inclusion_tag("scoring/_insight.html", takes_context=True)
def submission_insight_panel(context: template.Context, submission: Submission) -> dict[str, Any]:
    """Final selection, flips and the plot of ``submission`` for the page's user."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return {"submission": submission, "insight": None, "final": None}
    show_final = submission.status == SubmissionStatus.SCORED or submission.is_final
    return {
        "submission": submission,
        "task": submission.task,
        # A blind phase's entry before the reveal: no figure (docs/decisions/0066-phases.md).
        "insight": submission_insight(submission=submission, user=user)
        if submission_figures_visible(submission=submission, user=user)
        else None,
        "final": submission_final_selection(submission=submission, user=user)
        if show_final
        else None,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }

