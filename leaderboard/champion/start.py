"""Where a task's champion starts (docs/organizers/champion-gate.md, "The start").

The start is the task's primary reference (``scoring.reference_selectors.primary_reference``:
the marked one, else the newest upload made before the challenge's start, else the AutoGluon
baseline once scored, else the trivial baseline), with one exception: the trivial baseline
is never the start while the AutoGluon baseline is on its way (a run queued or running, or
its submission being scored). The trivial baseline is a floor, a guess of the class prior
that no data owner ships: a task with nothing better on the way starts from it, and a model
that arrives later takes its place as soon as it is shown better (``entry_is_floor``: only
the gate's improvement rule binds against it). On a new data version the start is decided
again, and then an AutoGluon start waits for the baseline run again on the new data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from algorithms.models import ACTIVE, BaselineRun
from datasets.models import Task
from leaderboard.boards.references import references_sync
from scoring.models import Reference, ReferenceSource, Submission, SubmissionStatus
from scoring.reference_selectors import primary_reference

from .entries import Entry, entry_initial

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Start:
    """The entry a task's champion starts from, or None with what it waits for (None: the
    task has no reference at all)."""

    entry: Entry | None
    waiting_for: str | None = None


def baseline_pending(*, task: Task) -> str | None:
    """What of the AutoGluon baseline is on its way for ``task``, in words, or None: a run
    queued or running, or the baseline team's submission queued or being scored."""
    run = BaselineRun.objects.filter(task=task, status__in=ACTIVE).order_by("pk").first()
    if run is not None:
        return f"the AutoGluon baseline (run #{run.pk}, {run.status})"
    submission = (
        Submission.objects.filter(
            task=task,
            team__is_baseline=True,
            team__is_hidden=False,
            is_hidden=False,
            status__in=(SubmissionStatus.QUEUED, SubmissionStatus.SCORING),
        )
        .order_by("pk")
        .first()
    )
    if submission is not None:
        return f"the AutoGluon baseline (submission #{submission.pk}, being scored)"
    return None


def champion_start(*, task: Task, new_data: bool = False) -> Start:
    """The task's start now (module docstring), once its built-in references are up to date
    (the AutoGluon reference on the baseline's latest scored submission, the trivial one
    built). ``new_data``: the start decided again on a new data version, where an AutoGluon
    baseline on its way (run again on the new data) is waited for as well, rather than the
    previous run's submission re-scored."""
    try:
        references_sync(task=task)
    except Exception:
        logger.exception("the references of task %s could not be brought up to date", task.slug)
    primary = primary_reference(task=task)
    waits = primary is None or (
        primary.source == ReferenceSource.TRIVIAL and not primary.is_primary
    )
    if new_data and primary is not None and primary.source == ReferenceSource.AUTOGLUON:
        waits = True
    if waits:
        pending = baseline_pending(task=task)
        if pending is not None:
            return Start(entry=None, waiting_for=pending)
    if primary is None:
        return Start(entry=None)
    return Start(entry=entry_initial(reference=primary))


def entry_is_floor(*, entry: Entry | None) -> bool:
    """Whether ``entry`` is the trivial baseline: a floor, against which only the gate's
    improvement rule binds (docs/organizers/champion-gate.md)."""
    return (
        entry is not None
        and entry.type == "reference"
        and entry.obj.source == ReferenceSource.TRIVIAL
    )


def marked_primary(*, task: Task) -> bool:
    """Cheaply (one query, nothing brought up to date): whether a reference other than the
    trivial baseline is marked primary on ``task``."""
    return (
        Reference.objects.filter(task=task, is_primary=True)
        .exclude(source=ReferenceSource.TRIVIAL)
        .exists()
    )


def marked_over_floor(*, start: Start, current: Entry | None) -> bool:
    """Whether a reference an organizer (or, before the start, a task owner) marked as
    primary now stands where the floor stood: the start is decided again on it."""
    entry = start.entry
    return (
        entry is not None
        and entry_is_floor(entry=current)
        and entry.type == "reference"
        and entry.obj.is_primary
        and not entry_is_floor(entry=entry)
    )
