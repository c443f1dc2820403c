"""A challenge's phases: which is open, which is current, who may see a phase's figures, and
the organizers' writes (docs/decisions/0066-phases.md).

Every challenge has at least one phase: ``main``, with the challenge's own dates, made when
the challenge is saved without one (and by the data migration for the challenges made
before phases). With one phase the challenge behaves as it did before phases; its dates
follow the challenge's. With several, the phases' dates decide and the challenge's start
and end are set to their span (so every rule that reads the challenge's end still reads
the last phase's end).

The one rule of what a reader may see of a phase's figures is :func:`phase_figures_visible`:
every surface that shows a score, a verdict, an interval, a flip count, a robustness figure
or a board position of a submission asks it (pages, the API, ``chal``, mail, webhooks,
exports, the transfer matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from common.refusals import Refusal

from . import hooks
from .audit import audit_record, field_changes
from .models import Challenge, Phase, PhaseFeedback
from .selectors import is_organizer

EDITABLE = (
    "slug",
    "title",
    "start",
    "end",
    "feedback",
    "daily_submission_limit",
    "max_submissions",
    "final",
)


# Why a blind phase's entry reads without a figure (the one sentence of every surface).
BLIND_WITHHELD = (
    "scored; every figure withheld until the reveal: the entry belongs to a blind phase, "
    "where no score, verdict, interval, flip count or board position reaches a participant "
    "before the organizers reveal the results (docs/participants/phases.md)"
)

# A blind entry's place on its team's ladder, as a participant reads it: nothing.
BLIND_LADDER = {"shown_score": None, "climbed": False, "team_shown_score": None}


class PhaseRefused(Refusal):
    """A phase write refused before anything changed; ``message`` is for the organizer."""


# -- reads ------------------------------------------------------------------------------


def challenge_phases(*, challenge: Challenge) -> list[Phase]:
    """The challenge's phases in order (by start)."""
    return list(Phase.objects.filter(challenge=challenge).order_by("start", "id"))


def phase_open(*, challenge: Challenge, at: datetime | None = None) -> Phase | None:
    """The phase open at ``at`` (now), or None (before the first, between two, after the
    last). Phases do not overlap (:func:`phase_create` refuses it); the earliest wins if
    they ever did."""
    at = at or timezone.now()
    return (
        Phase.objects.filter(
            challenge=challenge, start__lte=at, end__gt=at, start__lt=challenge.end
        )
        .order_by("start", "id")
        .first()
    )


def phase_current(*, challenge: Challenge, at: datetime | None = None) -> Phase | None:
    """What a board shows by default: the open phase, else the last one that started, else
    the first (before the challenge opens)."""
    at = at or timezone.now()
    phases = challenge_phases(challenge=challenge)
    if not phases:
        return None
    # A phase that starts at or after the challenge's end never opens (the challenge ended
    # early: :func:`phases_end_at`), so it never becomes the last started.
    started = [phase for phase in phases if phase.start <= at and phase.start < challenge.end]
    return phase_open(challenge=challenge, at=at) or (started[-1] if started else phases[0])


def phase_final(*, challenge: Challenge) -> Phase | None:
    """The phase whose private scores make the standings: the one marked ``final``, else
    the last."""
    phases = challenge_phases(challenge=challenge)
    marked = [phase for phase in phases if phase.final]
    return marked[0] if marked else (phases[-1] if phases else None)


def phase_by_slug(*, challenge: Challenge, slug: str | None) -> Phase | None:
    """The phase named ``slug`` (None: :func:`phase_current`); :class:`PhaseRefused` (404
    ``unknown_phase``) for a name the challenge has no phase of."""
    if slug is None:
        return phase_current(challenge=challenge)
    phase = Phase.objects.filter(challenge=challenge, slug=slug).first()
    if phase is None:
        raise PhaseRefused("unknown_phase", f"The challenge has no phase '{str(slug)[:60]}'.", 404)
    return phase


def is_multi_phase(*, challenge: Challenge) -> bool:
    return Phase.objects.filter(challenge=challenge).count() > 1


def phase_figures_visible(
    *, phase: Phase | None, user: AbstractBaseUser | AnonymousUser | None
) -> bool:
    """May ``user`` see the figures of an entry of ``phase`` (its scores, verdict, intervals,
    flips, robustness, board position)? The one rule:

    - organizers: always;
    - a ``live`` phase (and no phase: the post-challenge board): yes, by the task's board
      mode and the private split's own rule as before phases;
    - a ``blind`` phase: only once the challenge reveals (the organizers' action or its
      ``reveal_at``), and then all at once.

    ``user=None`` is a reader with no account: mail and webhooks ask with the recipient,
    exports with the reader.
    """
    if phase is None or phase.feedback != PhaseFeedback.BLIND:
        return True
    if user is not None and is_organizer(user=user):
        return True
    return phase.challenge.private_visible()


def submission_figures_visible(
    *, submission: Any, user: AbstractBaseUser | AnonymousUser | None
) -> bool:
    """:func:`phase_figures_visible` for one submission (its recorded phase)."""
    phase_id = getattr(submission, "phase_id", None)
    if phase_id is None:
        return True
    return phase_figures_visible(phase=submission.phase, user=user)


def blind_phase_ids(*, challenge: Challenge) -> set[int]:
    """The ids of the challenge's phases whose figures are withheld from participants now
    (blind, not yet revealed); empty once revealed."""
    if challenge.private_visible():
        return set()
    return set(
        Phase.objects.filter(challenge=challenge, feedback=PhaseFeedback.BLIND).values_list(
            "pk", flat=True
        )
    )


@dataclass(frozen=True)
class PhaseRow:
    """A phase as the API and ``chal`` show it (the fields of the phase JSON)."""

    phase: Phase
    current: bool

    def as_json(self) -> dict[str, Any]:
        phase = self.phase
        return {
            "id": phase.pk,
            "slug": phase.slug,
            "title": phase.title,
            "start": phase.start,
            "end": phase.end,
            "feedback": phase.feedback,
            "daily_submission_limit": (
                phase.daily_submission_limit
                if phase.daily_submission_limit is not None
                else phase.challenge.daily_submission_limit
            ),
            "max_submissions": phase.max_submissions,
            "final": phase.pk == getattr(phase_final(challenge=phase.challenge), "pk", None),
            "current": self.current,
        }


def phase_rows(*, challenge: Challenge, at: datetime | None = None) -> list[PhaseRow]:
    """The challenge's phases, the current one first (flagged), then the others in order."""
    current = phase_current(challenge=challenge, at=at)
    phases = challenge_phases(challenge=challenge)
    rows = [PhaseRow(phase, current is not None and phase.pk == current.pk) for phase in phases]
    return sorted(rows, key=lambda row: not row.current)


# -- writes -----------------------------------------------------------------------------


def _span_sync(challenge: Challenge) -> None:
    """The challenge's start and end become its phases' span."""
    span = Phase.objects.filter(challenge=challenge).aggregate(start=Min("start"), end=Max("end"))
    Challenge.objects.filter(pk=challenge.pk).update(start=span["start"], end=span["end"])
    challenge.start, challenge.end = span["start"], span["end"]


def _values(phase: Phase) -> dict[str, Any]:
    return {name: getattr(phase, name) for name in EDITABLE}


def phase_check(*, phase: Phase) -> None:
    """The refusals of a phase's values (400 ``invalid_phase``): end after start, no
    overlap with another phase of the challenge."""
    if phase.end <= phase.start:
        raise PhaseRefused("invalid_phase", "A phase must end after it starts.", 400)
    same_slug = Phase.objects.filter(challenge=phase.challenge, slug=phase.slug)
    if same_slug.exclude(pk=phase.pk).exists():
        raise PhaseRefused(
            "invalid_phase", f"The challenge already has a phase '{phase.slug}'.", 400
        )
    others = Phase.objects.filter(
        challenge=phase.challenge, start__lt=phase.end, end__gt=phase.start
    ).exclude(pk=phase.pk)
    clash = others.first()
    if clash is not None:
        raise PhaseRefused(
            "invalid_phase",
            f"The phase would overlap the phase '{clash.slug}' "
            f"({clash.start:%Y-%m-%d %H:%M} to {clash.end:%Y-%m-%d %H:%M} UTC); phases "
            "follow one another.",
            400,
        )


def _save(phase: Phase, *, actor: Any, action: str, before: dict, reason: str) -> Phase:
    reason = (reason or "").strip()
    if not reason:
        raise PhaseRefused("reason_required", "Say why the phases change (reason).", 400)
    phase_check(phase=phase)
    try:
        with transaction.atomic():
            if phase.final:  # one final phase: the mark moves here
                Phase.objects.filter(challenge=phase.challenge, final=True).exclude(
                    pk=phase.pk
                ).update(final=False)
            phase.save()
            _span_sync(phase.challenge)
            hooks.emit(event=hooks.ChallengePhasesChanged(challenge_id=phase.challenge_id))
            changed_before, changed_after = field_changes(old=before, new=_values(phase))
            audit_record(
                actor=actor,
                action=action,
                obj=phase,
                before=changed_before,
                after=changed_after,
                reason=reason,
            )
    except IntegrityError as exc:
        raise PhaseRefused(
            "invalid_phase", "The challenge already has a phase of that slug.", 400
        ) from exc
    return phase


def phase_create(*, challenge: Challenge, actor: Any, values: dict[str, Any], reason: str) -> Phase:
    """Add a phase to ``challenge`` (``values``: the fields of :data:`EDITABLE`), audited
    ``phase.create`` with ``reason``. Refused (nothing changed) when it would overlap
    another phase, end before it starts, or reuse a slug."""
    phase = Phase(challenge=challenge, **{k: v for k, v in values.items() if k in EDITABLE})
    return _save(phase, actor=actor, action="phase.create", before={}, reason=reason)


def phase_update(*, phase: Phase, actor: Any, values: dict[str, Any], reason: str) -> Phase:
    """Change a phase's fields, audited ``phase.update`` with ``reason``. A submission keeps
    the phase it arrived in: dates that move never move a submission."""
    before = _values(phase)
    for name, value in values.items():
        if name in EDITABLE:
            setattr(phase, name, value)
    return _save(phase, actor=actor, action="phase.update", before=before, reason=reason)


def phases_end_at(*, challenge: Challenge, at: datetime) -> None:
    """The challenge ended early at ``at`` (``standings``' end now): the open phase ends then;
    a phase that would start later never opens (it is marked announced, so nothing tells of
    it). One phase follows the challenge's dates already."""
    Phase.objects.filter(challenge=challenge, start__lt=at, end__gt=at).update(end=at)
    Phase.objects.filter(challenge=challenge, start__gte=at).update(
        start_announced_at=at, end_announced_at=at
    )


def phase_transitions_announce(*, at: datetime | None = None) -> list[tuple[int, str]]:
    """The beat's phase tick: every phase that started or ended since the last tick is
    claimed once (its ``start_announced_at``/``end_announced_at`` set under a conditional
    update, so two ticks at once announce it once) and announced: ``ChallengePhasesChanged``
    with ``started`` or ``ended`` (the boards refresh, the notifications mail and send
    webhooks). A challenge of one phase announces nothing (as before phases); an end long
    past (over a day) is marked, not announced. Returns ``[(phase id, "start"|"end")]``."""
    at = at or timezone.now()
    announced: list[tuple[int, str]] = []
    due = Phase.objects.filter(
        start__lte=at, start_announced_at__isnull=True
    ) | Phase.objects.filter(end__lte=at, end_announced_at__isnull=True)
    for phase in due.select_related("challenge").order_by("start", "id"):
        several = is_multi_phase(challenge=phase.challenge)
        for which, when in (("start", phase.start), ("end", phase.end)):
            field = f"{which}_announced_at"
            if when > at or getattr(phase, field) is not None:
                continue
            with transaction.atomic():
                claimed = Phase.objects.filter(pk=phase.pk, **{f"{field}__isnull": True}).update(
                    **{field: at}
                )
                stale = at - phase.end > timedelta(days=1)
                if claimed and several and not stale:
                    hooks.emit(
                        event=hooks.ChallengePhasesChanged(
                            challenge_id=phase.challenge_id,
                            started=phase.pk if which == "start" else 0,
                            ended=phase.pk if which == "end" else 0,
                        )
                    )
                    announced.append((phase.pk, which))
    return announced
