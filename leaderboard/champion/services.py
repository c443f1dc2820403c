"""Writes of a task's champion (docs/organizers/champion-gate.md).

- :func:`champion_ensure`: a task's champion, set at first use to its start (``.start``: the
  primary reference, never the trivial baseline while the AutoGluon baseline is on its way),
  and the start decided again on a new data version or when a marked reference replaces
  the trivial one; entries scored while there was no champion are weighed once there is;
- ``.checks.champion_candidate_landed``: a new scored entry (a submission scored, a run
  scored on itself) queues its one *deciding* check, in the transaction where its score
  lands;
- :func:`champion_check_run`: the check's job (``leaderboard.tasks.check_champion``): weigh
  the entry against the champion outside any transaction, then, holding the task's
  :class:`TaskChampion` row, crown it when it passes and the champion is still the one it
  was weighed against (else weigh it again against the new one). A redelivered message
  finds the check final and does nothing; the crowning and the check's end commit together,
  so an entry is crowned once;
- :func:`champion_verdicts_queue`: "would this be a champion?" of every board entry against
  the champion of the day (after a change, and by the beat for what is missing);
- :func:`champion_pin`: an organizer's choice, with a reason (audited).

A change emits ``hooks.ChampionChanged`` in its transaction (the ``champion`` webhook event).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.db import transaction

from algorithms.models import AlgorithmRun
from challenges import hooks
from challenges.audit import audit_record, reason_check
from datasets.models import Task
from jobs import lifecycle
from leaderboard.core.gate import CANNOT_TELL, PASSES, GateResult
from leaderboard.models import (
    ChampionBy,
    ChampionChange,
    ChampionCheck,
    ChampionCheckStatus,
    LeaderboardEntry,
    TaskChampion,
)
from scoring.models import Reference, Submission

from .checks import WAITING, queue_once, weigh_waiting
from .entries import (
    Entry,
    EntryUnreadable,
    change_entry,
    entry_candidate_reason,
    entry_of,
)
from .jobs import CHAMPION_CHECK
from .start import (
    baseline_pending,
    champion_start,
    entry_is_floor,
    marked_over_floor,
    marked_primary,
)
from .weigh import (
    GateContext,
    champion_pred,
    gate_context,
    gate_document,
    gate_settings,
    gate_split,
    weigh,
)

logger = logging.getLogger(__name__)

ROUNDS = 3  # weighings of one check when the champion changes meanwhile
STALE_AFTER = timedelta(minutes=10)  # a check left weighing this long lost its worker

INTERNAL_ERROR = "An internal error stopped this check; the organizers have been notified."


class ChampionRefused(Exception):
    """A pin that cannot be done; ``str()`` says why."""


# --- the champion ----------------------------------------------------------------------


def _entry_fields(entry: Entry | None) -> dict[str, Any]:
    return {
        "submission": entry.obj if entry is not None and entry.type == "submission" else None,
        "reference": entry.obj if entry is not None and entry.type == "reference" else None,
        "run": entry.obj if entry is not None and entry.type == "run" else None,
    }


def _locked(task: Task) -> TaskChampion:
    """The task's champion row, locked (inside the caller's transaction)."""
    TaskChampion.objects.get_or_create(task=task)
    return (
        TaskChampion.objects.select_for_update(of=("self",))
        .select_related("current__submission__team", "current__reference", "current__run")
        .get(task=task)
    )


def _start_again(task: Task, current: ChampionChange | None) -> str | None:
    """Why the champion must be decided from the start again (None: it stands): there is
    none, its entry was removed, or it is the start and the task has new data."""
    if current is None or change_entry(change=current) is None:
        return ""
    if current.by == ChampionBy.INITIAL and current.data_version != task.data_version:
        return f"the start, decided again on data version {task.data_version}"
    return None


def _may_start_again(task: Task, current: ChampionChange) -> bool:
    """Cheaply, without the lock: whether :func:`_ensure_locked` might decide the start again
    (the start on older data, or the trivial baseline, which a marked reference replaces)."""
    if current.by != ChampionBy.INITIAL:
        return False
    return current.data_version != task.data_version or entry_is_floor(
        entry=change_entry(change=current)
    )


def _ensure_locked(task: Task, holder: TaskChampion) -> ChampionChange | None:
    """With ``holder`` locked: its champion, set to the start when there is none (or its
    entry was removed), decided again from the start on a new data version while it is the
    start, and moved to a marked reference that stands where the trivial baseline stood.
    While the start waits (the AutoGluon baseline on its way) the champion stays as it is."""
    current = holder.current
    why = _start_again(task, current)
    start = None
    if why is None:
        if not (
            current.by == ChampionBy.INITIAL and entry_is_floor(entry=change_entry(change=current))
        ):
            return current  # the usual case: no start to look up
        if not marked_primary(task=task):
            return current
        start = champion_start(task=task)
        if not marked_over_floor(start=start, current=change_entry(change=current)):
            return current
        why = "the start: the reference marked primary replaces the trivial baseline"
    new_data = current is not None and current.data_version != task.data_version
    start = start or champion_start(task=task, new_data=new_data)
    entry = start.entry
    if entry is None:
        return current
    change = ChampionChange.objects.create(
        task=task,
        team=entry.team,
        label=entry.label[:200],
        previous=current,
        by=ChampionBy.INITIAL,
        split=gate_split(challenge=task.track.challenge),
        data_version=task.data_version,
        reason=why,
        **_entry_fields(entry),
    )
    holder.current = change
    holder.save(update_fields=["current", "updated_at"])
    if current is not None:
        hooks.emit(event=hooks.ChampionChanged(task_id=task.pk, change_id=change.pk))
    task_id, change_id = task.pk, change.pk
    transaction.on_commit(lambda: weigh_waiting(task_id=task_id, change_id=change_id), robust=True)
    return change


def champion_ensure(*, task: Task) -> ChampionChange | None:
    """The task's champion, set to its start at first use (and decided again as
    :func:`_ensure_locked` says); None while the task has no reference at all, or while
    its start waits for the AutoGluon baseline (``.start``)."""
    with transaction.atomic():
        return _ensure_locked(task, _locked(task))


def _crown(
    *,
    task: Task,
    holder: TaskChampion,
    entry: Entry,
    by: str,
    split: str,
    result: GateResult | None = None,
    check: ChampionCheck | None = None,
    actor: Any = None,
    reason: str = "",
) -> ChampionChange:
    """Make ``entry`` the champion (with ``holder`` locked); emits ``ChampionChanged`` and
    queues the board's verdicts against it once this commits."""
    figures: dict[str, Any] = {}
    if result is not None:
        worst = result.worst_slice
        figures = {
            "difference": result.difference,
            "ci_low": None if result.ci is None else result.ci[0],
            "ci_high": None if result.ci is None else result.ci[1],
            "nfr": result.nfr,
            "nfr_upper": None if result.nfr_ci is None else result.nfr_ci[1],
            "pfr": result.pfr,
            "worst_slice": None if worst is None else worst.as_json(),
            "verdict": result.verdict,
            "rows_needed": result.rows_needed,
            "changed_rows": result.changed,
        }
    change = ChampionChange.objects.create(
        task=task,
        team=entry.team,
        label=entry.label[:200],
        previous=holder.current,
        by=by,
        split=split,
        data_version=task.data_version,
        decided_by=check,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
        **figures,
        **_entry_fields(entry),
    )
    holder.current = change
    holder.save(update_fields=["current", "updated_at"])
    hooks.emit(event=hooks.ChampionChanged(task_id=task.pk, change_id=change.pk))
    task_id = task.pk
    transaction.on_commit(
        lambda: champion_verdicts_queue(task=Task.objects.get(pk=task_id)), robust=True
    )
    logger.info("task %s: %s is the new champion (%s)", task.slug, entry.label, by)
    return change


def champion_pin(*, task: Task, entry: Entry, actor: Any, reason: str) -> ChampionChange:
    """An organizer makes ``entry`` (a scored, shown submission or run of the task, or one
    of its references) the champion, with a reason (audited as ``champion.pin``).
    :class:`ChampionRefused` says why not."""
    reason = reason_check(action="champion.pin", reason=reason, actor=actor, required=True)
    if entry.obj.task_id != task.pk:
        raise ChampionRefused(f"{entry.label} is not an entry of task '{task.slug}'.")
    why = None if entry.type == "reference" else entry_candidate_reason(entry=entry)
    if why is not None:
        raise ChampionRefused(f"{entry.label} cannot be the champion: {why}.")
    if entry.type == "reference" and entry.obj.unusable_reason:
        raise ChampionRefused(f"{entry.label} no longer fits the task's data.")
    with transaction.atomic():
        holder = _locked(task)
        current = _ensure_locked(task, holder)
        if entry.same_as(change_entry(change=current)):
            raise ChampionRefused(f"{entry.label} is already the champion of '{task.slug}'.")
        change = _crown(
            task=task,
            holder=holder,
            entry=entry,
            by=ChampionBy.PIN,
            split=gate_split(challenge=task.track.challenge),
            actor=actor,
            reason=reason,
        )
        audit_record(
            actor=actor,
            action="champion.pin",
            obj=task,
            before={"champion": current.label if current is not None else None},
            after={"champion": change.label},
            reason=reason,
            reason_required=True,
        )
    return change


# --- queueing checks ---------------------------------------------------------------------


def champion_verdicts_queue(*, task: Task) -> int:
    """Queue a verdict of every board entry (the gate's split) that has none against the
    current champion with today's split, data and settings; returns how many were queued.
    A few queries per task, whatever its entries (the beat asks every task each minute)."""
    holder = TaskChampion.objects.select_related("current__reference").filter(task=task).first()
    current = holder.current if holder is not None else None
    if current is None or change_entry(change=current) is None or _may_start_again(task, current):
        current = champion_ensure(task=task)
    if current is None:
        return 0
    split = gate_split(challenge=task.track.challenge)
    gate = gate_settings(task=task)
    champion = change_entry(change=current)
    tail = f":c{current.pk}:{split}:v{task.data_version}:e{gate.epsilon:g}:a{gate.alpha:g}"
    entries = set(
        LeaderboardEntry.objects.filter(task=task, split=split).values_list(
            "submission_id", flat=True
        )
    )
    if champion is not None and champion.type == "submission":
        entries.discard(champion.pk)
    weighed = ChampionCheck.objects.filter(
        task=task,
        submission_id__in=entries,
        against=current,
        split=split,
        data_version=task.data_version,
        epsilon=gate.epsilon,
        alpha=gate.alpha,
        status=ChampionCheckStatus.DONE,
    ).values_list("submission_id", flat=True)
    missing = entries - set(weighed)  # a deciding check against this champion counts
    known = set(
        ChampionCheck.objects.filter(
            key__in=[f"verdict:s{pk}{tail}" for pk in missing]
        ).values_list("key", flat=True)
    )
    queued = 0
    for submission_id in sorted(missing):
        key = f"verdict:s{submission_id}{tail}"
        if key in known:
            continue
        check = queue_once(
            key=key,
            task=task,
            decides=False,
            submission_id=submission_id,
            against=current,
            split=split,
            data_version=task.data_version,
        )
        queued += check is not None
    return queued


# --- the job -----------------------------------------------------------------------------


def _candidate(check: ChampionCheck) -> Entry | None:
    if check.submission_id is not None:
        obj = Submission.objects.select_related("team", "task").get(pk=check.submission_id)
        return entry_of(submission=obj)
    run = AlgorithmRun.objects.select_related("version__algorithm__team", "task").get(
        pk=check.run_id
    )
    return entry_of(run=run)


def _finish(check: ChampionCheck, token: str, *, status: str, **fields: Any) -> bool:
    return lifecycle.job_transition(
        job_type=CHAMPION_CHECK, pk=check.pk, token=token, status=status, **fields
    )


def _exhausted(check: ChampionCheck, now: datetime) -> dict[str, Any]:
    return {"error": INTERNAL_ERROR}


def champion_check_run(*, check_pk: int, delivery_id: str | None = None) -> str:
    """Weigh one check (the job's body); returns its outcome, ``"skipped"`` when there was
    nothing to do, or ``"superseded"``. Safe to run for any message, any number of times."""
    token = delivery_id or uuid.uuid4().hex
    check = lifecycle.job_claim(
        job_type=CHAMPION_CHECK,
        pk=check_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=_exhausted,
        select_related=("task__track__challenge",),
    )
    if check is None:
        return "skipped"
    try:
        return _weigh_and_decide(check, token)
    except EntryUnreadable as exc:
        done = _finish(check, token, status=ChampionCheckStatus.FAILED, error=str(exc)[:2000])
        return ChampionCheckStatus.FAILED if done else "superseded"
    except SoftTimeLimitExceeded:
        done = _finish(
            check,
            token,
            status=ChampionCheckStatus.FAILED,
            error="The check took longer than its time limit and was stopped.",
        )
        return ChampionCheckStatus.FAILED if done else "superseded"
    except Exception:
        logger.exception("champion check %s failed (attempt %s)", check.pk, check.attempts)
        return lifecycle.job_retry_or_fail(
            job_type=CHAMPION_CHECK,
            job=check,
            token=token,
            fail=lambda: _failed_internally(check, token),
        )


def _failed_internally(check: ChampionCheck, token: str) -> str:
    done = _finish(check, token, status=ChampionCheckStatus.FAILED, error=INTERNAL_ERROR)
    return ChampionCheckStatus.FAILED if done else "superseded"


def _weigh_and_decide(check: ChampionCheck, token: str) -> str:
    task = check.task
    for _ in range(ROUNDS):
        current = champion_ensure(task=task)
        champion = change_entry(change=current)
        candidate = _candidate(check)
        why = None if candidate is None else entry_candidate_reason(entry=candidate)
        if candidate is None or why is not None:
            return _end_unweighed(check, token, current=current, why=why or "")
        if current is None or champion is None:
            return _end_unweighed(check, token, current=current, why=None)
        if candidate.same_as(champion):
            return _end(check, token, against=current, outcome="champion")
        context = gate_context(task=task)
        reference = champion_pred(context=context, champion=champion)
        pred = np.asarray(candidate.predictions().pred)
        result = weigh(
            context=context,
            pred=pred,
            scores=candidate.obj.scores or {},
            champion=champion,
            champion_predictions=reference,
        )
        document = gate_document(
            context=context,
            result=result,
            champion=champion,
            scores=candidate.obj.scores or {},
            broken_ids=[],  # never stored: ids are named by the release check only
        )
        decided = _decide(
            check,
            token,
            current=current,
            candidate=candidate,
            context=context,
            result=result,
            document=document,
        )
        if decided is not None:
            return decided
    done = _finish(
        check,
        token,
        status=ChampionCheckStatus.FAILED,
        error=f"The champion changed {ROUNDS} times while this entry was weighed; weigh it again.",
    )
    return ChampionCheckStatus.FAILED if done else "superseded"


def _decide(
    check: ChampionCheck,
    token: str,
    *,
    current: ChampionChange,
    candidate: Entry,
    context: GateContext,
    result: GateResult,
    document: dict[str, Any],
) -> str | None:
    """Holding the task's champion row: crown the candidate if it passed and may, and end
    the check; None when the champion changed meanwhile (weigh again)."""
    with transaction.atomic():
        holder = _locked(context.task)
        if holder.current_id != current.pk:
            return None
        fresh = _candidate(check)
        crowned = bool(
            check.decides
            and crowns(result=result, challenge=context.task.track.challenge)
            and fresh is not None
            and entry_candidate_reason(entry=fresh) is None
            and fresh.obj.predictions.name == candidate.obj.predictions.name
        )
        if crowned:
            outcome = "crowned"
        else:
            outcome = result.verdict if result.verdict in (PASSES, CANNOT_TELL) else "kept"
        if not _finish(
            check,
            token,
            status=ChampionCheckStatus.DONE,
            against=current,
            split=context.split,
            data_version=context.task.data_version,
            epsilon=context.settings.epsilon,
            alpha=context.settings.alpha,
            passes=result.passes,
            outcome=outcome,
            result=document,
            error="",
        ):
            return "superseded"
        if crowned:
            _crown(
                task=context.task,
                holder=holder,
                entry=candidate,
                by=ChampionBy.GATE,
                split=context.split,
                result=result,
                check=check,
            )
    return outcome


def crowns(*, result: GateResult, challenge: Any) -> bool:
    """Whether a deciding check with ``result`` takes the champion's place: it passes, or
    the gate cannot tell and the challenge crowns those (``gate_cannot_tell``)."""
    if result.passes:
        return True
    return result.verdict == CANNOT_TELL and challenge.gate_cannot_tell == "crown"


def _end(check: ChampionCheck, token: str, *, against: ChampionChange | None, outcome: str) -> str:
    done = _finish(
        check, token, status=ChampionCheckStatus.DONE, against=against, outcome=outcome, error=""
    )
    return outcome if done else "superseded"


def _end_unweighed(
    check: ChampionCheck, token: str, *, current: ChampionChange | None, why: str | None
) -> str:
    outcome = "ineligible"
    if why is None:
        waiting = baseline_pending(task=check.task)
        outcome = WAITING  # weighed once the task has a champion (checks.weigh_waiting)
        error = (
            f"The task has no champion yet: waiting for {waiting}."
            if waiting
            else "The task has no champion yet (no reference to start from)."
        )
    else:
        error = f"Not weighed: {why or 'the entry no longer exists'}."
    done = _finish(
        check,
        token,
        status=ChampionCheckStatus.DONE,
        against=current,
        outcome=outcome,
        error=error,
    )
    return outcome if done else "superseded"


def reference_entry(*, task: Task, name: str) -> Entry | None:
    """The task's reference called ``name`` (any case), as an entry."""
    reference = Reference.objects.filter(task=task, name__iexact=name.strip()).first()
    return entry_of(reference=reference)
