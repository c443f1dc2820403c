"""The organizers' choice of a task's stress families (docs/organizers/stress.md), from the console.

``task.yaml``'s ``stress`` sets them at import (``datasets.core``); :func:`task_stress_set`
changes them afterwards: checked against the task's columns with a message per problem,
written to the task's ``meta`` (its ``task.json``) with one audit event. The stress runs of
the new plan are queued by the beat (``algorithms.tasks.stress_tick``) within a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from challenges.audit import audit_record
from datasets.models import Task
from kinds import kind_get
from kinds.stress import PlannedFamily, StressRefused, stress_plan


@dataclass(frozen=True)
class FamilyChoice:
    """A family of the task's kind as the console lists it: whether it applies to the
    task's columns (and why not), its default strength and its bounds."""

    name: str
    summary: str
    applies: bool
    why_not: str
    strength: float
    low: float
    high: float


def task_columns_of(*, task: Task) -> tuple[tuple[str, str], ...]:
    return tuple((str(c["name"]), str(c["type"])) for c in task.columns or ())


def task_stress_choices(*, task: Task) -> list[FamilyChoice]:
    """Every family of the task's kind, for the console."""
    columns = task_columns_of(task=task)
    out = []
    for family in kind_get(task.kind).stress_families().values():
        why = family.applies(columns)
        out.append(
            FamilyChoice(
                name=family.name,
                summary=family.summary,
                applies=why is None,
                why_not=why or "",
                strength=family.strength,
                low=family.low,
                high=family.high,
            )
        )
    return out


def task_stress_current(*, task: Task) -> tuple[object, list[PlannedFamily] | None]:
    """The stored ``stress`` (None: the defaults) and the plan it gives (None when it no
    longer fits the task)."""
    stored = (task.meta or {}).get("stress") if isinstance(task.meta, dict) else None
    try:
        return stored, stress_plan(kind_get(task.kind), task_columns_of(task=task), stored)
    except StressRefused:
        return stored, None


def task_stress_set(*, task: Task, stress: Any, actor: Any) -> list[PlannedFamily]:
    """Set the task's stress families: ``stress`` as ``task.yaml`` takes it (a list of
    ``{"family", "strength", "share"}``; None: every family that applies; ``[]``: none).
    Raises :class:`StressRefused` with every problem and changes nothing."""
    plan = stress_plan(kind_get(task.kind), task_columns_of(task=task), stress)
    stored = None if stress is None else [p.as_json() for p in plan]
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        meta = dict(locked.meta or {})
        before = meta.get("stress")
        meta["stress"] = stored
        locked.meta = meta
        locked.save(update_fields=["meta"])
        audit_record(
            actor=actor,
            action="task.stress",
            obj=locked,
            before={"stress": before},
            after={"stress": stored},
        )
    task.meta = locked.meta
    return plan
