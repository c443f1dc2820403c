"""A challenge's one phase made into a development phase and a final phase, as an organizer
does it (``phase_update`` then ``phase_create``, each audited with its reason): the tests of
phases share this one way of building them."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from challenges.models import Challenge, Phase
from challenges.phases import phase_create, phase_update


def dev_then_final(
    *,
    challenge: Challenge,
    organizer: AbstractBaseUser,
    dev_end: datetime,
    final_start: datetime,
    final_end: datetime,
    dev_start: datetime | None = None,
    feedback: str = "blind",
    reason: str = "a development phase, then a final phase",
) -> tuple[Phase, Phase]:
    """The challenge's one phase becomes ``dev`` (up to ``dev_end``, from ``dev_start`` when
    given); a ``final`` phase (``feedback``, its private scores the standings') follows."""
    dev_values: dict = {"slug": "dev", "title": "Development", "end": dev_end, "final": False}
    if dev_start is not None:
        dev_values["start"] = dev_start
    dev = phase_update(
        phase=challenge.phases.get(), actor=organizer, values=dev_values, reason=reason
    )
    final = phase_create(
        challenge=challenge,
        actor=organizer,
        values={
            "slug": "final",
            "title": "Final",
            "start": final_start,
            "end": final_end,
            "feedback": feedback,
            "final": True,
        },
        reason=reason,
    )
    return dev, final
