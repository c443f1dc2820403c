"""The final standings' summary on the challenge page (a tag, so the page's app stays below)."""

from __future__ import annotations

import json

from django import template

from standings.core import top_entries
from standings.selectors import final_standings_get, standings_revealed

register = template.Library()


@register.inclusion_tag("standings/_summary.html", takes_context=True)
def challenge_final_standings(context, challenge) -> dict:
    """The frozen standings' top 3 per track, once the viewer may see the private split;
    before, only that they are frozen (and their digest)."""
    frozen = final_standings_get(challenge=challenge)
    if frozen is None:
        return {"frozen": None}
    request = context.get("request")
    user = getattr(request, "user", None)
    if not standings_revealed(challenge=challenge, user=user):
        return {"frozen": frozen, "revealed": False, "challenge": challenge}
    doc = json.loads(frozen.canonical)
    tracks = [(t, top_entries(t["entries"], 3)) for t in doc["tracks"]]
    return {"frozen": frozen, "revealed": True, "tracks": tracks, "challenge": challenge}
