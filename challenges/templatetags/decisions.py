"""``{% decision_notice obj %}``: the organizer's decision about a team or a submission, with
its reason, shown to the team on its pages (one home: :func:`audit.decision_payload`)."""

from __future__ import annotations

from typing import Any

from django import template

from challenges.audit import decision_payload

register = template.Library()


@register.inclusion_tag("challenge_platform/_decision.html")
def decision_notice(obj: Any) -> dict[str, Any]:
    return {"decision": decision_payload(obj=obj) if obj is not None else None}
