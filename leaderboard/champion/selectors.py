"""Reads of a task's champion (docs/organizers/champion-gate.md): the champion and its timeline, the
board entries' verdicts, and the release check (a weighing that stores nothing).

What a reader sees follows the scores' rules: figures decided on the private split only
once it is revealed (organizers always), and no figure against a champion whose numbers are
sealed (a task owner's uploaded reference while the owner competes, before the reveal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from algorithms.selectors import algorithm_run_get
from challenges.selectors import is_organizer
from common.refusals import Refusal
from datasets.models import Task
from leaderboard.core.gate import outputs_differ
from leaderboard.models import (
    ChampionBy,
    ChampionChange,
    ChampionCheck,
    ChampionCheckStatus,
    LeaderboardEntry,
    Split,
    TaskChampion,
)
from scoring.models import Submission
from scoring.selectors import User, submission_get

from .disclosure import Audience, gate_answer, gate_audience, step_figures
from .entries import Entry, EntryUnreadable, change_entry, entry_of
from .start import baseline_pending
from .weigh import (
    champion_pred,
    gate_context,
    gate_document,
    gate_settings,
    gate_split,
    public_broken_ids,
    weigh,
)


class ReleaseCheckRefused(Refusal):
    """A release check that cannot be answered: ``status``, ``code``, the message and, when
    the same check may be answered later, ``retry_after``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str = "invalid",
        retry_after: Any = None,
    ) -> None:
        super().__init__(code, message, status, retry_after=retry_after)
        self.status = status


def champion_of(*, task: Task) -> ChampionChange | None:
    """The task's current champion (its latest timeline row), None before the first."""
    holder = (
        TaskChampion.objects.select_related(
            "current__submission__team", "current__reference", "current__run", "current__team"
        )
        .filter(task=task)
        .first()
    )
    return None if holder is None else holder.current


def private_shown(*, task: Task, user: User | None) -> bool:
    return (user is not None and is_organizer(user=user)) or task.track.challenge.private_visible()


def _figures_shown(*, change: ChampionChange, user: User | None, private: bool) -> bool:
    """A decision's figures: hidden when it was made on the private split the reader may
    not see yet, or against a champion whose numbers are sealed from the reader (a ladder
    board's public split: ``.disclosure.score_figures``)."""
    if change.split == Split.PRIVATE and not private:
        return False
    previous = change_entry(change=change.previous) if change.previous_id else None
    return previous is None or not previous.sealed_for(user)


CROWNING_WITHHELD = (
    "a team's entry crowned on the public split of a ladder board is shown after the reveal: "
    "the gate's verdict is computed on the exact public rows the board hides"
)


def crowning_withheld(*, change: ChampionChange, audience: Audience) -> bool:
    """Whether ``change`` is hidden from ``audience``: the gate crowned a team's entry (not a
    reference, not the AutoGluon baseline's, not an organizer's pin) on the public split of a
    task whose exact public figures the reader may not see (``Audience.exact_public``,
    ``scoring.selectors.public_scores_shown``: a ladder board before the reveal, for all
    but organizers). Its crowning says the entry was significantly better on the exact
    public rows: one more answer per upload beside the ladder's (issue 64)."""
    return (
        not audience.exact_public
        and change.by == ChampionBy.GATE
        and change.split == Split.PUBLIC
        and change.team_id is not None
        and not change.team.is_baseline
    )


def _entry_json(change: ChampionChange) -> dict[str, Any]:
    entry = change_entry(change=change)
    if entry is None:  # removed since: its name stays
        return {"type": None, "id": None, "name": change.label}
    return entry.as_json()


def history_item(
    *,
    change: ChampionChange,
    user: User | None,
    private: bool,
    audience: Audience | None = None,
) -> dict[str, Any]:
    """One timeline row as the API gives it (``audience``: the reader's, by default from
    ``user``; docs/organizers/disclosure.md)."""
    shown = _figures_shown(change=change, user=user, private=private)
    ci = None
    if shown and change.ci_low is not None and change.ci_high is not None:
        ci = [change.ci_low, change.ci_high]
    audience = audience or gate_audience(task=change.task, user=user)
    item = {
        "entry": _entry_json(change),
        "team": change.team.name if change.team_id else None,
        "at": change.at,
        "difference": change.difference if shown else None,
        "ci": ci,
        "nfr": change.nfr if shown else None,
        "nfr_upper": change.nfr_upper if shown else None,
        "worst_slice": change.worst_slice if shown else None,
        "by": change.by,
        "split": change.split,
        "reason": change.reason,
        # The gate's verdict of a gate step (a crowned entry passed, or the gate could not
        # tell and the challenge crowns those); null for the start and for pins.
        "verdict": change.verdict or None,
        "rule": None,
        "rows_needed": change.rows_needed if shown else None,
    }
    return step_figures(item=item, changed=change.changed_rows, task=change.task, audience=audience)


def champion_document(*, task: Task, user: User | None) -> dict[str, Any]:
    """``GET tasks/<slug>/champion/``: the champion, since when, the split the gate decides
    on now, and the timeline (oldest first)."""
    current = champion_of(task=task)
    private = private_shown(task=task, user=user)
    audience = gate_audience(task=task, user=user)
    changes = (
        ChampionChange.objects.filter(task=task)
        .select_related(
            "task__track__challenge",
            "submission__team",
            "reference",
            "run",
            "team",
            "previous__reference",
        )
        .order_by("at", "pk")
    )
    live = current is not None and change_entry(change=current) is not None
    withheld = current is not None and crowning_withheld(change=current, audience=audience)
    shown = None if current is None or withheld else current
    return {
        "entry": None if shown is None else _entry_json(shown),
        "team": shown.team.name if shown is not None and shown.team_id else None,
        "since": None if shown is None else shown.at,
        "split": gate_split(challenge=task.track.challenge),
        "history": [
            history_item(change=c, user=user, private=private, audience=audience)
            for c in changes
            if not crowning_withheld(change=c, audience=audience)
        ],
        # Why the champion is not named (a team's entry crowned on a ladder board's public
        # split, for a reader who may not see its exact public figures), else null.
        "withheld": CROWNING_WITHHELD if withheld else None,
        # What the start waits for while the task has no champion (the AutoGluon baseline on
        # its way: the trivial baseline is never the start meanwhile), else null.
        "waiting_for": None if live else baseline_pending(task=task),
    }


# --- the board's verdicts ------------------------------------------------------------------


LADDER_VERDICT = (
    "a ladder board shows no verdict on a team's entry until the reveal: it is computed on "
    "the exact public rows the board hides"
)


@dataclass(frozen=True)
class Verdict:
    """ "Would this be a champion?" of one board entry: ``state`` is ``champion`` (it is),
    ``yes``, ``no``, ``cannot_tell`` (too few rows to bound its NFR), ``pending`` (being
    weighed), ``failed``, ``sealed`` or ``withheld`` (a team's entry on a ladder board's
    public split, for a reader who may not see its exact figures, until the reveal)."""

    entry: LeaderboardEntry
    state: str
    reasons: tuple[str, ...] = ()
    nfr_upper: float | None = None
    difference: float | None = None


def champion_verdicts(*, task: Task, user: User | None) -> list[Verdict]:
    """A verdict for every entry of the task's board on the split the gate decides on,
    against the current champion (the beat queues the missing ones)."""
    current = champion_of(task=task)
    split = gate_split(challenge=task.track.challenge)
    entries = list(
        LeaderboardEntry.objects.filter(task=task, split=split)
        .select_related("team")
        .order_by("position")
    )
    if current is None:
        return [Verdict(entry=e, state="pending") for e in entries]
    champion = change_entry(change=current)
    sealed = champion is not None and champion.sealed_for(user)
    gate = gate_settings(task=task)
    audience = gate_audience(task=task, user=user)
    checks: dict[int, ChampionCheck] = {}
    rows = ChampionCheck.objects.filter(
        task=task,
        against=current,
        split=split,
        data_version=task.data_version,
        submission_id__in=[e.submission_id for e in entries],
    ).order_by("pk")
    for check in rows:
        settled = check.status == ChampionCheckStatus.DONE
        if settled and (check.epsilon, check.alpha) != (gate.epsilon, gate.alpha):
            continue  # weighed under other settings
        checks[check.submission_id] = check
    out = []
    ladder = not audience.exact_public and split == Split.PUBLIC
    for entry in entries:
        if ladder and entry.team_id is not None and not entry.team.is_baseline:
            # A verdict on a team's entry is computed on the exact public rows.
            out.append(Verdict(entry=entry, state="withheld", reasons=(LADDER_VERDICT,)))
            continue
        if (
            champion is not None
            and champion.type == "submission"
            and champion.pk == entry.submission_id
        ):
            out.append(Verdict(entry=entry, state="champion"))
            continue
        if sealed:
            out.append(Verdict(entry=entry, state="sealed"))
            continue
        out.append(_verdict(entry, checks.get(entry.submission_id), task=task, audience=audience))
    return out


def _verdict(
    entry: LeaderboardEntry, check: ChampionCheck | None, *, task: Task, audience: Audience
) -> Verdict:
    if check is None or check.status in (ChampionCheckStatus.QUEUED, ChampionCheckStatus.WEIGHING):
        return Verdict(entry=entry, state="pending")
    if check.status == ChampionCheckStatus.FAILED or check.passes is None:
        return Verdict(entry=entry, state="failed", reasons=(check.error,) if check.error else ())
    result = gate_answer(document=check.result or {}, task=task, audience=audience)
    upper = (result.get("nfr_ci") or [None, None])[1]
    state = "yes" if check.passes else "no"
    if result.get("verdict") == "cannot_tell":
        state = "cannot_tell"
    return Verdict(
        entry=entry,
        state=state,
        reasons=tuple(result.get("reasons") or ()),
        nfr_upper=upper,
        difference=result.get("difference"),
    )


# --- the release check ----------------------------------------------------------------------


def release_candidate(
    *, task: Task, user: User, submission_id: int | None = None, run_id: int | None = None
) -> Entry:
    """The submission or run a release check names, as the caller may see it (their
    team's, or any for an organizer), scored on this task; else :class:`ReleaseCheckRefused`."""
    if submission_id is not None:
        found: Submission | None = submission_get(user=user, submission_pk=submission_id)
        if found is None or found.task_id != task.pk:
            raise ReleaseCheckRefused(
                f"There is no submission #{submission_id} of yours on '{task.slug}'.",
                status=404,
                code="not_found",
            )
        entry = entry_of(submission=found)
    else:
        run = algorithm_run_get(user=user, run_pk=int(run_id or 0))
        if run is None or run.task_id != task.pk:
            raise ReleaseCheckRefused(
                f"There is no algorithm run #{run_id} of yours on '{task.slug}'.",
                status=404,
                code="not_found",
            )
        entry = entry_of(submission=run.submission) if run.submission_id else entry_of(run=run)
    assert entry is not None
    if not entry.obj.predictions:
        raise ReleaseCheckRefused(
            f"{entry.label} has no scored predictions to check.", status=409, code="not_scored"
        )
    return entry


def release_check_open(*, task: Task, user: User) -> None:
    """Refuse (409 ``ladder_board``) a release check by a reader who may not see figures of
    the exact public rows (``scoring.selectors.public_scores_shown``: on a ladder board,
    before the reveal, everyone but organizers) and does not own the task: on a ladder board
    even a verdict without figures is one more answer computed on the exact public rows per
    check, beside the ladder's own (issue 64; docs/organizers/disclosure.md). Organizers and
    the task's owners are answered as before; called before any budget is spent."""
    audience = gate_audience(task=task, user=user)
    if audience.full or audience.exact_public:
        return
    raise ReleaseCheckRefused(
        f"Task '{task.slug}' has a ladder public board: the release check is closed to "
        "participants until the private split is revealed, since its verdict is computed on "
        "the exact public rows that the board hides (docs/organizers/ladder.md). Your "
        "entries' shown scores and climbs are on the board.",
        status=409,
        code="ladder_board",
    )


def release_check(
    *,
    task: Task,
    user: User,
    pred: np.ndarray,
    scores: dict[str, dict[str, Any]],
    champion: ChampionChange | None,
) -> dict[str, Any]:
    """The gate of predictions ``pred`` (aligned with the task's solution, with their scores
    per split) against ``champion``, as the release check answers ``user``
    (``.disclosure``: counts from k changed rows on, the broken rows' ids (public rows only,
    ever) to the task's owners and organizers, and on a ladder board's public split the
    verdict without the figures for readers who may not see exact public scores); nothing
    is stored."""
    entry = change_entry(change=champion)
    if champion is None or entry is None:
        waiting = baseline_pending(task=task)
        raise ReleaseCheckRefused(
            f"Task '{task.slug}' has no champion yet: it starts from {waiting} once scored."
            if waiting
            else f"Task '{task.slug}' has no champion yet (no reference to start from).",
            status=409,
            code="no_champion",
        )
    if entry.sealed_for(user):
        raise ReleaseCheckRefused(
            "The champion is the task owners' reference, whose numbers are sealed until the "
            "private split is revealed; a check against it would give them away.",
            status=409,
            code="champion_sealed",
        )
    context = gate_context(task=task)
    try:
        reference = champion_pred(context=context, champion=entry)
        result = weigh(
            context=context,
            pred=pred,
            scores=scores,
            champion=entry,
            champion_predictions=reference,
        )
    except EntryUnreadable as exc:
        raise ReleaseCheckRefused(str(exc), status=409, code="champion_unreadable") from exc
    audience = gate_audience(task=task, user=user)
    broken = public_broken_ids(
        context=context,
        pred=pred,
        champion_predictions=reference,
        limit=context.settings.max_broken if audience.full else 0,
    )
    document = gate_document(
        context=context, result=result, champion=entry, scores=scores, broken_ids=[]
    )
    # The k rule counts the rows changed over the whole test set, not the split's (issue 66):
    # a count of the split's rows would tell a prober who knows the champion's outputs
    # whether one row is public (k - 1 changed rows known public, and the row probed).
    document["changed_rows"] = int(outputs_differ(task.kind, pred, reference).sum())
    return gate_answer(document=document, task=task, audience=audience, broken_ids=broken)
