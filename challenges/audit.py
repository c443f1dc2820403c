"""The audit log: one home for recording organizer and task-owner actions.

Every service that performs such an action calls :func:`audit_record` (in the same
transaction as the change where it can), so the console, the API and the commands all leave
the same trace. Actions that affect a team need a reason when a person does them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.db.models import QuerySet

from . import hooks
from .models import AuditEvent, Challenge

# Actions that affect a team: a person must say why (shown to the team).
REASON_REQUIRED = frozenset(
    {
        "team.hide",
        "submission.hide",
        "algorithm_run.cancel",
        "standings.refreeze",
        "task.replace",  # a new data version re-scores every team's submissions
        "challenge.end_now",  # ending early cuts every team's time short
    }
)

# What participants are told: the hide of a team or submission, with its reason.
DECISION_ACTIONS = {
    "team": ("team.hide", "team.restore"),
    "submission": ("submission.hide", "submission.restore"),
}


class ReasonRequired(ValueError):
    """An action that affects a team was asked for without a reason."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.message = "A reason is required for this action: the team is shown it."
        super().__init__(self.message)


def reason_check(
    *, action: str, reason: str | None, actor: Any, required: bool | None = None
) -> str:
    """Return the cleaned reason, or raise :class:`ReasonRequired` when a person does an
    action that affects a team without one (system actions, ``actor=None``, need none).
    ``required`` overrides :data:`REASON_REQUIRED` (e.g. a team cancelling its own run)."""
    reason = (reason or "").strip()
    if required is None:
        required = action in REASON_REQUIRED
    if required and _person(actor) is not None and not reason:
        raise ReasonRequired(action)
    return reason


def _person(actor: Any) -> AbstractBaseUser | None:
    if actor is None or isinstance(actor, AnonymousUser) or not getattr(actor, "pk", None):
        return None
    return actor


def _challenge_of(obj: models.Model) -> Challenge | None:
    if isinstance(obj, Challenge):
        return obj
    for path in ("challenge", "track.challenge", "task.track.challenge"):
        current: Any = obj
        try:
            for part in path.split("."):
                current = getattr(current, part)
        except (AttributeError, models.ObjectDoesNotExist):
            continue
        if isinstance(current, Challenge):
            return current
    return None


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if value is None or isinstance(value, bool | int | float | str | list | dict):
            out[key] = value
        elif isinstance(value, models.Model):
            out[key] = str(value)
        else:
            out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return out


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = "",
    reason_required: bool | None = None,
) -> AuditEvent:
    """Append one event: ``actor`` (a user, or ``None`` for the system) did ``action`` on
    ``obj``, changing ``before`` into ``after``, because ``reason``. Emits
    :class:`hooks.AuditRecorded` (e.g. the notifications mail a team the decision)."""
    reason = reason_check(action=action, reason=reason, actor=actor, required=reason_required)
    person = _person(actor)
    event = AuditEvent.objects.create(
        actor=person,
        actor_name=person.get_username() if person is not None else "",
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk or ""),
        object_repr=str(obj)[:300],
        challenge=_challenge_of(obj),
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
    )
    hooks.emit(event=hooks.AuditRecorded(audit_event_id=event.pk, action=action))
    return event


def hidden_set(*, obj: models.Model, hidden: bool, actor: Any, reason: str, noun: str) -> bool:
    """Hide (``hidden``) or show again ``obj`` (a model with ``is_hidden``: a team, a
    submission), with its audit event ``<noun>.hide`` or ``<noun>.restore`` in the same
    transaction; a person must give a reason (:class:`ReasonRequired`). False when ``obj``
    already was so (nothing written)."""
    action = f"{noun}.hide" if hidden else f"{noun}.restore"
    reason_check(action=action, reason=reason, actor=actor)
    if obj.is_hidden == hidden:  # type: ignore[attr-defined]
        return False
    with transaction.atomic():
        type(obj)._default_manager.filter(pk=obj.pk).update(is_hidden=hidden)
        obj.is_hidden = hidden  # type: ignore[attr-defined]
        audit_record(
            actor=actor,
            action=action,
            obj=obj,
            before={"is_hidden": not hidden},
            after={"is_hidden": hidden},
            reason=reason,
        )
    return True


def field_changes(
    *, old: dict[str, Any], new: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after)."""
    changed = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in changed}, {k: new.get(k) for k in changed}


def audit_events_for(*, obj: models.Model) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))


def decision_for(*, obj: models.Model) -> AuditEvent | None:
    """The organizer's decision a participant is shown: the latest hide of a hidden team or
    submission (``None`` when it is visible, or was hidden before the log existed)."""
    if not getattr(obj, "is_hidden", False):
        return None
    kind = obj._meta.model_name
    hide, restore = DECISION_ACTIONS.get(kind, ("", ""))
    latest = audit_events_for(obj=obj).filter(action__in=(hide, restore)).first()
    return latest if latest is not None and latest.action == hide else None


def decision_payload(*, obj: models.Model) -> dict[str, Any] | None:
    """What a team is told about an organizer's decision on ``obj`` (a submission or a
    team): ``{"action": "hidden", "scope", "reason", "at"}``, or ``None``. A submission of a
    hidden team carries the team's decision when it has none of its own."""
    candidates = [obj]
    team = getattr(obj, "team", None)
    if isinstance(team, models.Model):
        candidates.append(team)
    for candidate in candidates:
        event = decision_for(obj=candidate)
        if event is not None:
            return {
                "action": "hidden",
                "scope": candidate._meta.model_name,
                "reason": event.reason,
                "at": event.at.isoformat(),
            }
        if getattr(candidate, "is_hidden", False):  # hidden before the audit log existed
            return {
                "action": "hidden",
                "scope": candidate._meta.model_name,
                "reason": "",
                "at": None,
            }
    return None
