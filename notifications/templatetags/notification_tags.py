"""Template tags that put announcements and invitations on pages of other apps."""

from __future__ import annotations

from django import template

from challenges.markdown import stored_html

from ..models import Announcement

register = template.Library()


@register.inclusion_tag("notifications/_announcements.html")
def challenge_announcements(challenge, limit: int = 10) -> dict:
    rows = Announcement.objects.filter(challenge=challenge)[:limit]
    return {"announcements": [(a, stored_html(value=a.body_html)) for a in rows]}


@register.inclusion_tag("notifications/_team_invite.html", takes_context=True)
def team_invite_form(context, team) -> dict:
    return {"team": team, "csrf_token": context.get("csrf_token")}
