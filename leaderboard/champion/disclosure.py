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
- **A ladder board's public split** (docs/organizers/ladder.md): the figures are counts over
  the same public rows whose exact scores the board hides (the difference against a champion
  whose shown score is public is the entry's exact score, less the rounding), so a reader
  who may not see exact public scores (``scoring.selectors.public_scores_shown``: not an
  organizer, before the reveal; a task owner included) gets the verdict, its rule and
  ``rows_needed`` and none of them (:func:`score_figures`), with ``withheld`` and a reason
  in words. The verdict is a coarse answer (one of five), within the daily budget.

:func:`score_figures` is the one place an answer states how the entry scores against the
champion on the split: every answer and timeline step passes there last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser

from datasets.models import Task
from datasets.selectors import task_manageable
from leaderboard.core.gate import CANNOT_TELL, IMPROVEMENT, NFR, PASSES, SLICE
from leaderboard.models import Split
from scoring.selectors import User, public_scores_shown

WITHHELD = "too few changed rows to report"
LADDER_WITHHELD = "exact public scores hidden by the ladder board until the reveal"
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
# What a ladder board's public split keeps of them: rows_needed, beside the verdict. It is a
# function of the breaks alone (the NFR at which a split of that size bounds it), rounded by
# the search to a split size: no statement of the fixes, so none of the exact score.
LADDER_KEPT = ("rows_needed",)
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
    rows' ids) or not, the task's challenge's k, and ``exact_public``: whether the reader may
    see the task's exact public scores (``scoring.selectors.public_scores_shown``; False on a
    ladder board for all but organizers, until the reveal)."""

    full: bool
    min_changed: int
    exact_public: bool = True


def gate_audience(*, task: Task, user: User | None) -> Audience:
    """The audience of ``user`` (None: the public) on ``task``."""
    reader = AnonymousUser() if user is None else user
    full = reader.is_authenticated and task_manageable(task=task, user=reader)
    return Audience(
        full=full,
        min_changed=task.track.challenge.release_check_min_changed,
        exact_public=public_scores_shown(task=task, user=reader),
    )


def counts_shown(*, changed: int | None, audience: Audience) -> bool:
    """Whether counts over the rows may be shown: to the full audience, or from k changed
    rows on (``changed`` None: a figure stored before the rule, shown as it was)."""
    return audience.full or changed is None or changed >= audience.min_changed


def withheld_reason(*, min_changed: int) -> str:
    return (
        f"Too few changed rows to report: the entry differs from the champion on fewer than "
        f"{min_changed} rows of the split, so no counts are given (docs/organizers/disclosure.md)."
    )


def ladder_reason(*, task: Task) -> str:
    """Why a ladder board's public figures are missing from a gate answer, in words."""
    return (
        f"The figures are withheld: '{task.slug}' has a {task.public_board} public board, which "
        "shows no exact public score until the private split is revealed, and the difference, "
        "the NFR, the PFR, McNemar's counts and the slices on the public rows would give those "
        "scores away. The verdict stands (docs/organizers/ladder.md)."
    )


def score_figures(
    *,
    answer: dict[str, Any],
    task: Task,
    audience: Audience,
    figures: tuple[str, ...] = COUNTED,
) -> dict[str, Any]:
    """The answer's statement of the entry's score against the champion's on the split, as
    ``audience`` may read it: on the public split of a board that hides exact public scores
    from it (a ladder board, :attr:`Audience.exact_public`), ``figures`` are null but
    :data:`LADDER_KEPT`, the slices and the broken rows' ids are empty, ``withheld`` says
    so (unless the k rule already did) and the reasons are the verdict's words without a
    number, then why (:func:`ladder_reason`)."""
    if audience.exact_public or answer.get("split") != Split.PUBLIC:
        return answer
    answer.update({name: None for name in figures if name not in LADDER_KEPT})
    if "slices" in answer:
        answer["slices"] = []
    if "broken_ids" in answer:
        answer["broken_ids"] = []
    if "mcnemar" in answer:
        answer["mcnemar"] = None
    answer["worst_slice"] = None
    answer["withheld"] = answer.get("withheld") or LADDER_WITHHELD
    if "reasons" in answer:
        words = VERDICT_WORDS.get((answer.get("verdict"), answer.get("rule")))
        needed = answer.get("rows_needed")
        if isinstance(needed, int) and answer.get("verdict") == CANNOT_TELL:
            words = (
                f"{VERDICT_WORDS[(CANNOT_TELL, None)]} About {needed:,} rows at this NFR would "
                "bound it at epsilon."
            )
        kept = [r for r in answer["reasons"] if r.startswith("Too few changed rows")]
        answer["reasons"] = [*([words] if words else []), *kept, ladder_reason(task=task)]
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
        answer["reasons"] = [
            *([words] if words else []),
            withheld_reason(min_changed=audience.min_changed),
        ]
    return score_figures(answer=answer, task=task, audience=audience)


def step_figures(
    *, item: dict[str, Any], changed: int | None, task: Task, audience: Audience
) -> dict[str, Any]:
    """A timeline step's figures as ``audience`` may read them (the same rule)."""
    item["withheld"] = None
    if not counts_shown(changed=changed, audience=audience):
        item.update(dict.fromkeys(STEP_COUNTED))
        item["withheld"] = WITHHELD
    return score_figures(answer=item, task=task, audience=audience, figures=STEP_COUNTED)
