"""Mail a team the organizers' decision about it (a hidden or disqualified team or
submission), with the reason from the audit log. Subscribed to ``hooks.AuditRecorded`` in
``NotificationsConfig.ready()``; the mail leaves after the decision's transaction commits."""

from __future__ import annotations

from challenges.models import AuditEvent, Team, TeamMembership
from scoring.models import Submission

from .models import Topic
from .publishing import site_url
from .services import notify_users

MAILED_ACTIONS = {"team.hide", "team.restore", "submission.hide", "submission.restore"}


def decision_mail(*, audit_event_id: int) -> int:
    """Queue the mails for the audit event when it is a decision about a team; return how
    many."""
    event = AuditEvent.objects.filter(pk=audit_event_id).first()
    if event is None or event.action not in MAILED_ACTIONS:
        return 0
    hidden = event.action.endswith(".hide")
    verb = "hidden from the leaderboards (hidden or disqualified)" if hidden else "restored"
    if event.action.startswith("team."):
        team = Team.objects.filter(pk=event.object_id).first()
        if team is None:
            return 0
        what = f"Your team {team.name}"
        url = site_url(path=f"/teams/{team.pk}/")
    else:
        submission = Submission.objects.select_related("team", "task").filter(pk=event.object_id)
        sub = submission.first()
        if sub is None:
            return 0
        team = sub.team
        what = f"Your team's submission #{sub.pk} on {sub.task.title}"
        url = site_url(path=f"/submissions/{sub.pk}/")
    if team.is_baseline:
        return 0
    reason = f"\n\nThe organizers' reason:\n{event.reason}" if event.reason else ""
    user_ids = list(TeamMembership.objects.filter(team=team).values_list("user_id", flat=True))
    return notify_users(
        topic=Topic.DECISION,
        user_ids=user_ids,
        subject=f"{what} was {verb.split(' (')[0]}",
        body=f"{what} was {verb} by the organizers.{reason}\n\n{url}",
    )
