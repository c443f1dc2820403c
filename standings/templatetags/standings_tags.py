"""The final standings' summary on the challenge page (a tag, so the page's app stays below)."""

from __future__ import annotations

import json

from django import template

from standings.core import top_entries
from standings.selectors import final_standings_get

register = template.Library()


@register.inclusion_tag("standings/_summary.html")
def challenge_final_standings(challenge) -> dict:
    frozen = final_standings_get(challenge=challenge)
    if frozen is None:
        return {"frozen": None}
    doc = json.loads(frozen.canonical)
    tracks = [(t, top_entries(t["entries"], 3)) for t in doc["tracks"]]
    return {"frozen": frozen, "tracks": tracks, "challenge": challenge}
