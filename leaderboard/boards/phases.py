"""Which phase a board ranks (docs/decisions/0066-phases.md).

A challenge of one phase ranks as before phases: every scored entry made before its end.
With several, a task's maintained board ranks the entries of one phase, the current one
(else the last that started): scores of two phases never mix. The beat's phase tick
refreshes the boards when a phase starts or ends (``leaderboard.receivers``). The standings
rank the final phase's entries (:func:`final_phase_q`).
"""

from __future__ import annotations

from django.db.models import Q

from challenges.models import Challenge, Phase
from challenges.phases import (
    challenge_phases,
    phase_current,
    phase_figures_visible,
    phase_final,
)


def board_phase(*, challenge: Challenge) -> Phase | None:
    """The phase the maintained boards of ``challenge`` rank; None: one phase (no filter)."""
    if len(challenge_phases(challenge=challenge)) <= 1:
        return None
    return phase_current(challenge=challenge)


def board_filter(*, challenge: Challenge) -> tuple[Phase | None, Q]:
    """:func:`board_phase` and the filter of a maintained board's submissions: those of that
    phase; none while that phase is blind and not revealed (a blind phase has no board before
    the reveal: nothing of it can reach a page, an export, a webhook or the leader's mail; the
    reveal refreshes the boards). One phase: ``(None, Q())``."""
    phase = board_phase(challenge=challenge)
    if phase is None:
        return None, Q()
    if not phase_figures_visible(phase=phase, user=None):
        return phase, Q(pk__in=[])
    return phase, Q(phase=phase)


def board_phase_q(*, challenge: Challenge) -> Q:
    """The filter of a maintained board's submissions (:func:`board_filter`)."""
    return board_filter(challenge=challenge)[1]


def final_phase_q(*, challenge: Challenge) -> Q:
    """The filter of the standings' submissions: the final phase's (one phase: none)."""
    if len(challenge_phases(challenge=challenge)) <= 1:
        return Q()
    return Q(phase=phase_final(challenge=challenge))
