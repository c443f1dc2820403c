"""What a reader may see of the gate's figures (docs/organizers/disclosure.md): every release-check
answer, every stored check's verdict and every timeline step passes here before it leaves.

The gate's figures are counts over rows: the difference of accuracy between two files is
``(fixes - breaks) / n``, the NFR is ``breaks / n``. Asked about a file that differs from
the champion on one row, they would say whether that row is right: the release check would
be a row oracle of the public labels (issue 51). So:

- **Counts need k changed rows.** The figures (``difference``, ``ci``, ``nfr``, ``pfr`` and
  their intervals, ``mcnemar``, the slices, ``opis_change``, ``rows_needed``) are given only
  when the two entries' outputs differ on at least ``Challenge.release_check_min_changed``
  rows of the split (k, default 20). Below it the answer keeps its verdict and rule and says
  "too few changed rows to report". A file that changes one row is never shown better (the
  bootstrap leaves that row out of about a third of its resamples, and McNemar's exact test
  needs six changed rows), and the first rule that fails is named: its verdict is "fails,
  improvement" whatever the labels, so the one-row probe learns nothing.
- **Broken row ids** are named to the task's owners and organizers only.
- Organizers and the task's owners (who hold the labels) see every figure.

:func:`score_figures` is the one place an answer states how the entry scores against the
champion on the split (``difference`` and its ``ci``): a board mode that hides exact public
scores hooks there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datasets.models import Task
from datasets.selectors import task_manageable
from leaderboard.core.gate import CANNOT_TELL, IMPROVEMENT, NFR, PASSES, SLICE
from scoring.selectors import User

WITHHELD = "too few changed rows to report"
# Everything an answer computes from the rows' truth, withheld below k changed rows.
COUNTED = (
    "difference",
    "ci",
    "nfr",
    "nfr_ci",
    "pfr",
    "pfr_ci",
    "mcnemar",
    "opis_change",
    "worst_slice",
    "rows_needed",
)
STEP_COUNTED = ("difference", "ci", "nfr", "nfr_upper", "worst_slice", "rows_needed")
INTERNAL = ("changed_rows",)

VERDICT_WORDS = {
    (PASSES, None): "Passes the gate against the champion.",
    ("fails", IMPROVEMENT): "Fails: not shown better than the champion.",
    ("fails", NFR): "Fails: breaks too many of the rows the champion had right.",
    ("fails", SLICE): "Fails: a slice breaks.",
    (CANNOT_TELL, None): "Cannot tell: too few rows to bound the NFR at epsilon.",
}


@dataclass(frozen=True)
class Audience:
    """Who reads: ``full`` (organizers and the task's owners: every figure and the broken
    rows' ids) or not, and the task's challenge's k."""

    full: bool
    min_changed: int


def gate_audience(*, task: Task, user: User | None) -> Audience:
    """The audience of ``user`` (None: the public) on ``task``."""
    full = user is not None and user.is_authenticated and task_manageable(task=task, user=user)
    return Audience(full=full, min_changed=task.track.challenge.release_check_min_changed)


def counts_shown(*, changed: int | None, audience: Audience) -> bool:
    """Whether counts over the rows may be shown: to the full audience, or from k changed
    rows on (``changed`` None: a figure stored before the rule, shown as it was)."""
    return audience.full or changed is None or changed >= audience.min_changed


def withheld_reason(min_changed: int) -> str:
    return (
        f"Too few changed rows to report: the entry differs from the champion on fewer than "
        f"{min_changed} rows of the split, so no counts are given (docs/organizers/disclosure.md)."
    )


def score_figures(*, answer: dict[str, Any], task: Task, audience: Audience) -> dict[str, Any]:
    """The answer's statement of the entry's score against the champion's on the split
    (``difference``, ``ci``), as ``audience`` may read it. The one place a board mode that
    hides exact public scores (a Ladder) changes them; today it keeps them."""
    return answer


def gate_answer(
    *,
    document: dict[str, Any],
    task: Task,
    audience: Audience,
    broken_ids: list[Any] | None = None,
) -> dict[str, Any]:
    """A gate document (``.weigh.gate_document``, fresh or stored) as ``audience`` may read
    it: ``withheld`` says why counts are missing (None: none is), ``min_changed_rows`` is k,
    and ``broken_ids`` are the given ones for the full audience, else empty."""
    answer = {key: value for key, value in document.items() if key not in INTERNAL}
    answer["broken_ids"] = list(broken_ids or []) if audience.full else []
    answer["min_changed_rows"] = audience.min_changed
    answer["withheld"] = None
    if not counts_shown(changed=document.get("changed_rows"), audience=audience):
        answer.update(dict.fromkeys(COUNTED))
        answer["slices"] = []
        answer["broken_ids"] = []
        answer["withheld"] = WITHHELD
        words = VERDICT_WORDS.get((answer.get("verdict"), answer.get("rule")))
        answer["reasons"] = [*([words] if words else []), withheld_reason(audience.min_changed)]
    return score_figures(answer=answer, task=task, audience=audience)


def step_figures(
    *, item: dict[str, Any], changed: int | None, task: Task, audience: Audience
) -> dict[str, Any]:
    """A timeline step's figures as ``audience`` may read them (the same rule)."""
    item["withheld"] = None
    if not counts_shown(changed=changed, audience=audience):
        item.update(dict.fromkeys(STEP_COUNTED))
        item["withheld"] = WITHHELD
    return score_figures(answer=item, task=task, audience=audience)
