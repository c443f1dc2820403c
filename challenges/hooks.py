"""Hooks: the one event path of the platform, from a lower layer to a higher one.

App arrows point one way (``pyproject.toml``'s ``layers`` contract): scoring may not import
the leaderboard, yet a score must refresh its board. So every event is declared here, once,
as a frozen dataclass (its typed payload) deriving from :class:`HookEvent`; the layer where
it happens only **emits** it, and a higher app **subscribes** in its ``AppConfig.ready()``::

    # scoring:
    hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk, team_id=team.pk))
    # the leaderboard:
    hooks.subscribe(event=hooks.TaskResultsChanged, receiver=receivers.refresh_task_board)

No Django signal, no list kept by another app: this registry is the only way an event
travels. Each event says when its receivers run (:class:`When`), chosen per event:

- ``IN_TRANSACTION``: synchronously, inside the emitter's transaction, each receiver in its
  own savepoint. The reaction commits with the change (a score and its board together) and a
  failing receiver is logged and rolled back alone; it never undoes the change that emitted.
  One exception: when its savepoint cannot be rolled back (the connection was lost), the
  emitter's transaction is lost too, and the error is raised to the emitter, which would
  otherwise go on as if its change had committed.
- ``AFTER_COMMIT``: once the emitter's transaction commits (at once outside one), each
  receiver in its own transaction; nothing runs if the change rolls back. For reactions that
  must only follow a durable change and may take time (the final standings' notices).

A receiver takes the event object (``def refresh_task_board(event: TaskResultsChanged)``).
Subscribing twice is harmless. A receiver that queues mails or webhooks still publishes them
after commit itself (``jobs.lifecycle.publish_after_commit``).

=====================  ==========================================  ================
event                  emitted by                                  when
=====================  ==========================================  ================
TaskResultsChanged     scoring (scored, rescored, hidden, final)   in transaction
BoardRefreshed         leaderboard (a task's board rebuilt)        in transaction
SubmissionFinished     scoring (a submission scored or failed)     in transaction
TaskDataChanged        datasets (data replaced, a phase's released) in transaction
TaskAdded              datasets (a task imported into a track)     in transaction
ChallengeTeamsChanged  challenges (a team hidden/restored)          in transaction
ChallengeRevealChanged challenges (private boards shown)            in transaction
ChallengePhasesChanged challenges (phases edited, started)         in transaction
TeamMemberJoined       challenges (a membership created)           in transaction
AuditRecorded          challenges (an audit event written)         in transaction
ChallengeFinished      standings (the final standings frozen)      after commit
StressResultsChanged   algorithms (a stress run's figures recorded) in transaction
AlgorithmRunScored     algorithms (a run scored, not submitted)    in transaction
AlgorithmRunFailed     algorithms (a run failed or was cancelled)  in transaction
ChampionChanged        leaderboard (a task's champion changed)     in transaction
DiscussionPosted       discussion (a reply, an answer marked)      after commit
=====================  ==========================================  ================
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)


class When(enum.Enum):
    """When an event's receivers run (see the module's docstring)."""

    IN_TRANSACTION = "in the caller's transaction, a savepoint per receiver"
    AFTER_COMMIT = "after the caller's transaction commits, a transaction per receiver"


@dataclass(frozen=True)
class HookEvent:
    """Base of every event: a frozen, typed payload of ids (never model instances: a
    receiver reads fresh state). ``when`` is the event's delivery rule."""

    when: ClassVar[When] = When.IN_TRANSACTION

    def __str__(self) -> str:
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"{type(self).__name__}({args})"


# --- the events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskResultsChanged(HookEvent):
    """A task's scored results changed (a submission was scored, rescored, hidden or marked
    final, a reference changed). ``team_id`` names the one team whose submissions changed
    when the emitter knows it (a scoring), else None."""

    task_id: int
    team_id: int | None = None


@dataclass(frozen=True)
class BoardRefreshed(HookEvent):
    """A task's board was rebuilt, whoever rebuilt it (a scoring, a refresh run again for
    others, the beat); emitted in the rebuild's transaction."""

    task_id: int


@dataclass(frozen=True)
class SubmissionFinished(HookEvent):
    """A submission ended scored or failed (e.g. the notifications mail its team)."""

    submission_id: int


@dataclass(frozen=True)
class TaskDataChanged(HookEvent):
    """A task's files (and solution) were replaced by a new data version (e.g. scoring
    re-queues its submissions and rebuilds its references). ``phase_id``: the version is
    that phase's own (released at its start, or a later version of it): only that phase's
    entries read it (``datasets.phase_versions``)."""

    task_id: int
    phase_id: int | None = None


@dataclass(frozen=True)
class TaskAdded(HookEvent):
    """A task was added to a track (imported), in the transaction that created it (e.g. the
    living benchmark queues every benchmark algorithm on it)."""

    task_id: int


@dataclass(frozen=True)
class ChallengeTeamsChanged(HookEvent):
    """A challenge's teams changed visibility (hidden, disqualified, restored)."""

    challenge_id: int


@dataclass(frozen=True)
class ChallengeRevealChanged(HookEvent):
    """A challenge's private boards were revealed or hidden again (what its board pages
    offer changes)."""

    challenge_id: int


@dataclass(frozen=True)
class ChallengePhasesChanged(HookEvent):
    """A challenge's phases changed, or one started or ended (``challenges.phases``): which
    phase its boards rank changes (``started``/``ended``: the phase, for the announcement;
    0 when an organizer edited the phases)."""

    challenge_id: int
    started: int = 0
    ended: int = 0


@dataclass(frozen=True)
class TeamMemberJoined(HookEvent):
    """A person became a member of a team (created it, joined with the invite code, or was
    added by an organizer in the console)."""

    membership_id: int


@dataclass(frozen=True)
class AuditRecorded(HookEvent):
    """An organizer's or task owner's action was written to the audit log
    (:func:`challenges.audit.audit_record`). ``action`` lets a receiver skip the
    events it does not handle without reading the row."""

    audit_event_id: int
    action: str


@dataclass(frozen=True)
class ChallengeFinished(HookEvent):
    """A challenge's final standings were frozen (after the freeze commits: its notices
    must never undo or block the freeze, nor go out for a freeze that rolled back)."""

    when: ClassVar[When] = When.AFTER_COMMIT

    challenge_id: int


@dataclass(frozen=True)
class StressResultsChanged(HookEvent):
    """A stress run recorded its robustness figures on a task (docs/organizers/stress.md): the
    task's boards show them."""

    task_id: int


@dataclass(frozen=True)
class AlgorithmRunScored(HookEvent):
    """A run ended with predictions scored on the run itself, never a submission (an
    organizer's run, a benchmark re-run: the transfer matrix's), in the transaction that
    finished it (e.g. the champion gate weighs it)."""

    run_id: int


@dataclass(frozen=True)
class AlgorithmRunFailed(HookEvent):
    """A run ended failed or cancelled in its worker, in the transaction that ended it: what
    the boards show of it changes (a cell its entry was awaited in is no longer queued; a
    stress run's robustness is failed)."""

    task_id: int
    run_id: int


@dataclass(frozen=True)
class ChampionChanged(HookEvent):
    """A task's champion changed (the gate crowned an entry, or an organizer pinned one),
    in the transaction that wrote ``change_id`` (e.g. the ``champion`` webhook event)."""

    task_id: int
    change_id: int


@dataclass(frozen=True)
class DiscussionPosted(HookEvent):
    """A discussion thread got a post (``kind`` ``"post"``: a reply, or an organizers' new
    thread) or its answer (``"answer"``), after the change commits (e.g. the notifications
    tell the thread's followers; a post hidden by then is told to nobody)."""

    when: ClassVar[When] = When.AFTER_COMMIT

    post_id: int
    kind: str


# --- the registry --------------------------------------------------------------------------

E = TypeVar("E", bound=HookEvent)
Receiver = Callable[[Any], None]

_receivers: dict[type[HookEvent], list[Receiver]] = {}


def _checked(event: type[HookEvent]) -> type[HookEvent]:
    if not (isinstance(event, type) and issubclass(event, HookEvent)) or event is HookEvent:
        raise TypeError(f"{event!r} is not an event declared in challenges.hooks")
    return event


def subscribe(*, event: type[E], receiver: Callable[[E], None]) -> Callable[[E], None]:
    """Call ``receiver(e)`` for every emitted ``e`` of type ``event`` (in the order of
    subscription). Idempotent; returns ``receiver``. Called from ``AppConfig.ready()``."""
    registered = _receivers.setdefault(_checked(event), [])
    if receiver not in registered:
        registered.append(receiver)
    return receiver


def unsubscribe(*, event: type[HookEvent], receiver: Receiver) -> None:
    """Remove ``receiver`` from ``event`` (a test's temporary receiver); absent is fine."""
    registered = _receivers.get(_checked(event), [])
    if receiver in registered:
        registered.remove(receiver)


def receivers(*, event: type[HookEvent]) -> tuple[Receiver, ...]:
    """The receivers of ``event``, in the order they run."""
    return tuple(_receivers.get(_checked(event), ()))


def emit(*, event: HookEvent) -> None:
    """Tell ``event``'s receivers, by its ``when`` rule. Never raises for a receiver, unless
    the receiver lost the caller's transaction (the module's docstring)."""
    kind = _checked(type(event))
    for receiver in tuple(_receivers.get(kind, ())):
        if event.when is When.AFTER_COMMIT:
            transaction.on_commit(functools.partial(_call, receiver, event))
        else:
            _call(receiver, event)


def _call(receiver: Receiver, event: HookEvent) -> None:
    try:
        with transaction.atomic():  # a savepoint inside the caller's transaction (or its own)
            receiver(event)
    except Exception:
        logger.exception("%s failed on %s", getattr(receiver, "__qualname__", receiver), event)
        if _caller_transaction_lost():
            # The savepoint could not be rolled back (the connection was lost: a database
            # restart, its connections killed): the caller's whole transaction is gone, and
            # Django would end its block with a silent rollback. The caller must hear it,
            # or it goes on as if its work had committed (a job logged "scored" that stayed
            # running until the sweeper found it).
            raise


def _caller_transaction_lost() -> bool:
    connection = transaction.get_connection()
    return connection.in_atomic_block and (
        connection.needs_rollback or connection.closed_in_transaction
    )
