"""The console's first page: a dashboard of each running challenge and of the queues.

Lives in ``operations`` (above scoring and the leaderboard in the layers contract) because it
reads submissions and the health panel's selector; ``operations.admin`` hands it to the
admin index page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import mark_safe

from challenges.models import Challenge, Team
from common.svg import bar_chart_svg
from operations.selectors import health_status
from scoring.models import Submission, SubmissionStatus

DAYS = 30
ACTIVE_DAYS = 7


def console_dashboard(*, now=None) -> dict[str, Any]:
    """Per challenge: teams, teams active in the last 7 days, submissions per day (30 days,
    as an SVG bar chart) and the failure rate; plus the queue health of the whole site."""
    now = now or timezone.now()
    since = now - timedelta(days=DAYS - 1)
    first_day = since.date()
    challenges = []
    for challenge in Challenge.objects.order_by("-start")[:10]:
        teams = Team.objects.filter(challenge=challenge, is_baseline=False)
        subs = Submission.objects.filter(task__track__challenge=challenge, team__is_baseline=False)
        active = (
            teams.filter(submissions__created_at__gte=now - timedelta(days=ACTIVE_DAYS))
            .distinct()
            .count()
        )
        finished = subs.aggregate(
            failed=Count("id", filter=Q(status=SubmissionStatus.FAILED)),
            done=Count(
                "id", filter=Q(status__in=[SubmissionStatus.FAILED, SubmissionStatus.SCORED])
            ),
        )
        per_day = dict(
            subs.filter(created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values_list("day")
            .annotate(n=Count("id"))
            .values_list("day", "n")
        )
        days = [first_day + timedelta(days=i) for i in range(DAYS)]
        bars = [(f"{d:%m-%d}", float(per_day.get(d, 0))) for d in days]
        rate = finished["failed"] / finished["done"] if finished["done"] else None
        challenges.append(
            {
                "challenge": challenge,
                "teams": teams.count(),
                "active_teams": active,
                "submissions": subs.count(),
                "failed": finished["failed"],
                "failure_rate": rate,
                "chart": mark_safe(  # noqa: S308 - common/svg escapes every text it draws
                    bar_chart_svg(
                        bars, title=f"Submissions per day: {challenge.title}", y_label="submissions"
                    )
                ),
            }
        )
    return {"challenges": challenges, "health": health_status()}
