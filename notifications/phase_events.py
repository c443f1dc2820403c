"""A phase's start and end told to the challenge's participants (mail, the ``phase``
webhook event): docs/decisions/0066-phases.md. Only a challenge of several phases announces
them (``challenges.phases.phase_transitions_announce``)."""

from __future__ import annotations

from challenges.models import Phase

from .models import Topic, WebhookEvent
from .publishing import site_url
from .services import participants_told


def phase_changed(*, phase_id: int, which: str) -> None:
    """Tell the participants that ``phase_id`` started (``which="start"``) or ended."""
    phase = Phase.objects.select_related("challenge").filter(pk=phase_id).first()
    if phase is None:
        return
    challenge = phase.challenge
    url = site_url(path=f"/challenges/{challenge.slug}/")
    following = (
        Phase.objects.filter(challenge=challenge, start__gte=phase.end).order_by("start").first()
    )
    if which == "start":
        subject = f"{challenge.title}: the phase “{phase.title}” is open"
        what = (
            f"The phase “{phase.title}” of {challenge.title} is open until "
            f"{phase.end:%Y-%m-%d %H:%M} UTC"
        )
        if phase.feedback == "blind":
            what += (
                ". It is a blind phase: your entries are scored, and their scores and places "
                "are shown once the organizers reveal the results"
            )
    else:
        subject = f"{challenge.title}: the phase “{phase.title}” has ended"
        what = f"The phase “{phase.title}” of {challenge.title} has ended"
        if following is not None:
            what += (
                f"; the next, “{following.title}”, opens on {following.start:%Y-%m-%d %H:%M} UTC"
            )
    participants_told(
        challenge=challenge,
        topic=Topic.ANNOUNCEMENT,
        subject=subject,
        body=f"{what}.\n\n{url}",
        event=WebhookEvent.PHASE,
        event_key=f"phase:{phase.pk}:{which}",
        text=f"*{challenge.title}*: {what}.",
        fields=[("Challenge", challenge.title), ("Phase", phase.title), ("Link", url)],
        data={
            "challenge": challenge.slug,
            "phase": phase.slug,
            "what": "started" if which == "start" else "ended",
            "start": phase.start.isoformat(),
            "end": phase.end.isoformat(),
            "feedback": phase.feedback,
            "url": url,
        },
    )
