"""The task page's champion panel (``leaderboard/_champion.html``): the champion, its timeline
newest first, and a "would this be a champion?" verdict on every board entry; every figure
in words, as the API's rules let the viewer see it (``.selectors``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from datasets.models import Task
from kinds import kind_get, metric_info
from leaderboard.boards.ladder import shown_digits
from leaderboard.models import ChampionBy, ChampionChange
from scoring.reference_selectors import primary_reference
from scoring.selectors import User

from .disclosure import gate_audience
from .entries import change_entry
from .selectors import (
    CROWNING_WITHHELD,
    Verdict,
    champion_of,
    champion_verdicts,
    crowning_withheld,
    history_item,
    private_shown,
)
from .start import baseline_pending
from .weigh import gate_settings, gate_split

VERDICT_LABELS = {
    "champion": "the champion",
    "yes": "yes",
    "no": "no",
    "cannot_tell": "cannot tell yet",
    "pending": "being weighed",
    "failed": "not weighed",
    "sealed": "sealed until the reveal",
    "withheld": "shown after the reveal",
}


@dataclass(frozen=True)
class TimelineStep:
    at: datetime
    by: str
    label: str
    team: str | None
    summary: str
    current: bool


@dataclass(frozen=True)
class VerdictRow:
    verdict: Verdict
    label: str
    why: str
    # of the entry's score: a shown score's own (leaderboard.boards.ladder.shown_digits)
    digits: int = 4


@dataclass(frozen=True)
class ChampionPanel:
    task: Task
    current: ChampionChange | None
    split: str
    epsilon: float
    metric_label: str
    noun: str
    waiting_for: str | None  # the would-be first champion, before one is set
    waiting_pending: bool  # ... and it is on its way (the AutoGluon baseline queued)
    cannot_tell: str  # what "cannot tell" does to the champion (gate_cannot_tell)
    timeline: list[TimelineStep] = field(default_factory=list)
    verdicts: list[VerdictRow] = field(default_factory=list)
    withheld: str | None = None  # why the current champion is not named (a ladder board)


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _summary(item: dict[str, Any], *, metric: str, noun: str) -> str:
    if item["by"] == ChampionBy.INITIAL:
        return item["reason"] or "the start: the task's primary reference"
    if item["by"] == ChampionBy.PIN:
        return f"pinned by an organizer: “{item['reason']}”"
    how = "passed the gate"
    if item.get("verdict") == "cannot_tell":
        how = "crowned although the gate could not tell (the challenge crowns those)"
    if item["difference"] is None:
        withheld = f" ({item['withheld']})" if item.get("withheld") else ""
        return f"{how} on the {item['split']} split{withheld}"
    ci = item["ci"]
    interval = f" [{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else ""
    text = (
        f"{how} on the {item['split']} split: {metric} {item['difference']:+.4f}"
        f"{interval}; broke {item['nfr']:.2%} of the {noun}s the previous champion had right"
        f" (at most {item['nfr_upper']:.2%})"
    )
    worst = item["worst_slice"]
    if worst:
        text += (
            f"; worst slice {worst['column']} = {worst['value']}: {worst['nfr']:.2%} of "
            f"{worst['rows']} {noun}s"
        )
    return text


def _why(verdict: Verdict) -> str:
    if verdict.state == "yes":
        return "passes the gate against the champion"
    if verdict.state == "cannot_tell":
        telling = [r for r in verdict.reasons if r.startswith(("Cannot tell", "Too few"))]
        return " ".join(telling or verdict.reasons)
    if verdict.state == "withheld":
        return " ".join(verdict.reasons)
    if verdict.state == "sealed":
        return "the champion's numbers are sealed until the private split is revealed"
    failing = [r for r in verdict.reasons if not r.startswith(("Better", "Breaks little"))]
    return " ".join(failing or verdict.reasons)


def champion_panel(*, task: Task, user: User | None) -> ChampionPanel:
    """What the task page shows of the champion to ``user``."""
    current = champion_of(task=task)
    challenge = task.track.challenge
    private = private_shown(task=task, user=user)
    metric = metric_info(task.primary_metric)
    noun = kind_get(task.kind).flip_noun
    timeline = []
    audience = gate_audience(task=task, user=user)
    withheld = None
    if current is not None and crowning_withheld(change=current, audience=audience):
        withheld = CROWNING_WITHHELD
    if current is not None:
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
            .order_by("-at", "-pk")
        )
        for change in changes:
            if crowning_withheld(change=change, audience=audience):
                continue
            item = history_item(change=change, user=user, private=private, audience=audience)
            timeline.append(
                TimelineStep(
                    at=change.at,
                    by=change.by,
                    label=change.label,
                    team=item["team"],
                    summary=_summary(item, metric=metric.label, noun=noun),
                    current=change.pk == current.pk,
                )
            )
    waiting, pending = None, False
    if current is None or change_entry(change=current) is None:
        waiting = baseline_pending(task=task)
        pending = waiting is not None
        if waiting is None:
            primary = primary_reference(task=task)
            waiting = primary.name if primary is not None else None
    shown = shown_digits(task=task, split=gate_split(challenge=challenge)) or 4
    verdicts = [
        VerdictRow(
            verdict=v,
            label=VERDICT_LABELS[v.state],
            why=_why(v),
            digits=shown if v.entry.team_id and not v.entry.is_baseline else 4,
        )
        for v in champion_verdicts(task=task, user=user)
    ]
    return ChampionPanel(
        task=task,
        current=None if withheld else current,
        split=gate_split(challenge=challenge),
        epsilon=gate_settings(task=task).epsilon,
        metric_label=metric.label,
        noun=noun,
        waiting_for=waiting,
        waiting_pending=pending,
        cannot_tell=challenge.gate_cannot_tell,
        timeline=timeline,
        verdicts=verdicts,
        withheld=withheld,
    )
