"""Reads behind the submission detail page (issue 7): flips, a plot, the final selection.

Read from the submission's stored digests (``scoring.digests``: computed once, at scoring
or on the first view, from its aligned predictions and the task's solution), so a view
reads a few KB, whatever the size of the task. Every
number and example id comes from the rows the viewer may see: the **public** rows for
participants until the private scores are revealed, **all** rows for organizers and after
the reveal. Private rows, and their ids, never reach a participant before that.

- Flips against the baseline team's best submission (best public score) and against the
  team's own previous best (best public score among its submissions created before this
  one): rows fixed (reference wrong, this one right), rows newly broken (reference right,
  this one wrong: the negative flip rate), with a few example ids of each.
- What the task's kind shows of the rows (``TaskKind.charts`` of its digest, in its
  ``kinds/<name>/insight.html``): a confusion matrix, for matching files with a ``score``
  precision and recall against the decision threshold...
- OPIS curves (files with scores): F1 against the threshold of the most divergent groups
  and of all rows pooled, the calibration range shaded.
- The team's final selection for the private leaderboard (what the toggle may do).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from challenges.models import TeamMembership
from challenges.selectors import is_organizer
from common.curves_svg import utility_curves_svg
from common.flips import FlipReport
from kinds import kind_get, metric_info
from scoring.core.digest import EXAMPLES as DIGEST_EXAMPLES
from scoring.core.digest import kind_parts
from scoring.digests import DigestUnavailable, submission_flips_digest, submission_own_digest
from scoring.models import Submission, SubmissionStatus
from scoring.selectors import User, private_scores_visible, public_scores_shown

logger = logging.getLogger(__name__)

Rows = Literal["public", "all"]


@dataclass(frozen=True, kw_only=True)
class FlipComparison:
    """This submission against one reference, on the visible rows."""

    key: Literal["baseline", "previous"]
    label: str
    reference: Submission
    report: FlipReport
    positive_ids: list[str]  # example ids of fixed rows (visible rows only)
    negative_ids: list[str]  # example ids of newly broken rows
    reference_visible: bool  # whether the viewer may open the reference's page


@dataclass(frozen=True, kw_only=True)
class ShownChart:
    """One of the kind's charts, ready for its template: ``data-role`` and the SVG."""

    role: str
    svg: SafeString


@dataclass(frozen=True, kw_only=True)
class SubmissionInsight:
    """What the detail page shows below the scores."""

    rows: Rows
    n_rows: int
    comparisons: list[FlipComparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    charts: list[ShownChart] = field(default_factory=list)  # the kind's (kinds: Chart)
    details: dict[str, Any] = field(default_factory=dict)  # the kind's digest of these rows
    template: str = ""  # the kind's insight partial (kinds/<name>/insight.html)
    opis: dict[str, Any] | None = None  # OPIS, range and the shown groups (scoring.core.digest)
    opis_svg: SafeString | None = None

    @property
    def chart_roles(self) -> set[str]:
        return {chart.role for chart in self.charts}

    @property
    def rows_text(self) -> str:
        if self.rows == "all":
            return f"all {self.n_rows:,} test rows"
        return f"the {self.n_rows:,} public test rows"


@dataclass(frozen=True, kw_only=True)
class FinalSelection:
    """The team's final selection on this task, as the viewer may act on it."""

    is_final: bool
    selected: list[int]  # ids of the team's final submissions on this task
    limit: int
    can_change: bool
    reason: str  # why the viewer cannot change it (empty when they can)


# --- selectors ------------------------------------------------------------------------


LADDER_NOTE = (
    "This task's public board is a ladder board: the public rows' flips and plots of an "
    "entry are shown once the private leaderboard is revealed (they would give its exact "
    "public score away)."
)


def submission_visible_rows(*, submission: Submission, user: User) -> Rows:
    """``"all"`` for organizers and once revealed, else ``"public"``."""
    return "all" if private_scores_visible(submission=submission, user=user) else "public"


def submission_flip_references(*, submission: Submission) -> dict[str, Submission | None]:
    """The baseline team's best submission and the team's previous best (public score).

    Only scored, visible submissions with stored predictions qualify; "best" follows the
    primary metric's direction and ties go to the earlier submission. The submission itself
    is never its own reference.
    """
    candidates = (
        Submission.objects.filter(
            task_id=submission.task_id,
            status=SubmissionStatus.SCORED,
            public_score__isnull=False,
            is_hidden=False,
        )
        .exclude(predictions="")
        .exclude(pk=submission.pk)
        .select_related("team")
        .order_by("-public_score", "created_at", "pk")
    )
    if not metric_info(submission.task.primary_metric).higher_is_better:
        candidates = candidates.order_by("public_score", "created_at", "pk")
    baseline = candidates.filter(team__is_baseline=True, team__is_hidden=False).first()
    previous = candidates.filter(team_id=submission.team_id).filter(
        Q(created_at__lt=submission.created_at)
        | Q(created_at=submission.created_at, pk__lt=submission.pk)
    )
    return {"baseline": baseline, "previous": previous.first()}


def submission_insight(*, submission: Submission, user: User) -> SubmissionInsight | None:
    """Flips and plots of a scored submission on the rows ``user`` may see (else None).

    Read from the submission's stored digests (``scoring.digests``): a view loads neither
    the solution nor any predictions once they exist.
    """
    if submission.status != SubmissionStatus.SCORED or not submission.predictions:
        return None
    task = submission.task
    kind = kind_get(task.kind)
    rows = submission_visible_rows(submission=submission, user=user)
    if not public_scores_shown(task=task, user=user):
        # A ladder board (docs/organizers/ladder.md): flips, a confusion matrix or curves of the
        # public rows would give the entry's exact public score away.
        return SubmissionInsight(rows=rows, n_rows=0, notes=[LADDER_NOTE])
    if not kind.flips:
        # Nothing is right or wrong row by row (grouping: cluster ids are arbitrary names);
        # the metrics above are the comparison.
        return SubmissionInsight(rows=rows, n_rows=0, notes=[kind.insight_note])
    try:
        digest = submission_own_digest(submission=submission)
    except DigestUnavailable:
        logger.warning("no insight for submission %s", submission.pk, exc_info=True)
        return SubmissionInsight(
            rows=rows,
            n_rows=0,
            notes=["The stored predictions could not be read; flips and plots are unavailable."],
        )
    if "note" in digest:
        return SubmissionInsight(rows=rows, n_rows=0, notes=[digest["note"]])
    n_rows = int(digest["rows"][rows])
    comparisons, notes = _comparisons(submission=submission, user=user, rows=rows)
    details = kind_parts(digest, rows)
    charts = [
        ShownChart(role=chart.role, svg=mark_safe(chart.svg))  # noqa: S308 - common.svg escapes
        for chart in kind.charts(details, classes=list(task.classes))
    ]
    opis = (digest.get("opis") or {}).get(rows)
    opis_svg = None
    if opis is not None and opis["groups"]:
        opis_svg = utility_curves_svg(
            pooled=_floats(opis["pooled"]),
            groups=[(g["name"], _floats(g["f1"])) for g in opis["groups"]],
            calibration=(opis["range"][0], opis["range"][1]),
            title="F1 against the threshold: the most divergent groups",
        )
    return SubmissionInsight(
        rows=rows,
        n_rows=n_rows,
        comparisons=comparisons,
        notes=notes,
        charts=charts,
        details=details,
        template=kind.template("insight"),
        opis=opis,
        opis_svg=mark_safe(opis_svg) if opis_svg else None,  # noqa: S308 - common.svg escapes
    )


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def submission_final_selection(*, submission: Submission, user: User) -> FinalSelection:
    """The team's finals on the submission's task and whether ``user`` may change them."""
    challenge = submission.task.track.challenge
    selected = list(
        Submission.objects.filter(
            team_id=submission.team_id, task_id=submission.task_id, is_final=True
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    reason = ""
    is_member = bool(
        user.is_authenticated
        and TeamMembership.objects.filter(team_id=submission.team_id, user_id=user.pk).exists()
    )
    if not is_member:
        reason = "Only the team's members can choose its final submissions."
    elif timezone.now() >= challenge.end:
        reason = "The challenge has ended; final selections can no longer change."
    elif not submission.is_final and submission.status != SubmissionStatus.SCORED:
        reason = "Only a scored submission can be marked final."
    elif not submission.is_final and len(selected) >= challenge.max_final_selections:
        reason = (
            f"Your team already has {challenge.max_final_selections} final submissions for "
            "this task; unmark one to choose this one."
        )
    return FinalSelection(
        is_final=submission.is_final,
        selected=selected,
        limit=challenge.max_final_selections,
        can_change=not reason,
        reason=reason,
    )


# --- computation ----------------------------------------------------------------------


def flip_examples_shown(*, submission: Submission, user: User) -> bool:
    """Example row ids next to flips: organizers always; others as the challenge's
    ``flip_examples`` option says (by default only after the end)."""
    return is_organizer(user=user) or submission.task.track.challenge.flip_examples_visible()


def _comparisons(
    *, submission: Submission, user: User, rows: Rows
) -> tuple[list[FlipComparison], list[str]]:
    references = submission_flip_references(submission=submission)
    labels = {
        "baseline": "the baseline's best submission",
        "previous": "your team's previous best",
    }
    comparisons: list[FlipComparison] = []
    notes: list[str] = []
    examples = DIGEST_EXAMPLES if flip_examples_shown(submission=submission, user=user) else 0
    if not examples:
        notes.append(
            "Example row ids are hidden while the challenge runs: they would reveal labels "
            "a few rows at a time."
        )
    for key in ("baseline", "previous"):
        reference = references[key]
        if reference is None:
            notes.append(
                "No scored baseline submission on this task yet."
                if key == "baseline"
                else "No earlier scored submission of this team on this task to compare with."
            )
            continue
        try:
            digest = submission_flips_digest(submission=submission, reference=reference)
        except DigestUnavailable:
            logger.warning("flip reference %s unreadable", reference.pk, exc_info=True)
            notes.append(f"The predictions of {labels[key]} (#{reference.pk}) could not be read.")
            continue
        if digest.get("stale"):
            notes.append(
                f"{labels[key].capitalize()} (#{reference.pk}) was scored against another "
                "version of the solution."
            )
            continue
        report = FlipReport.from_dict(digest[rows])
        comparisons.append(
            FlipComparison(
                key=key,
                label=labels[key],
                reference=reference,
                report=report,
                positive_ids=list(report.positive_examples)[:examples],
                negative_ids=list(report.negative_examples)[:examples],
                reference_visible=_may_open(reference=reference, user=user),
            )
        )
    return comparisons, notes


def _may_open(*, reference: Submission, user: User) -> bool:
    if is_organizer(user=user):
        return True
    return bool(
        user.is_authenticated
        and TeamMembership.objects.filter(team_id=reference.team_id, user_id=user.pk).exists()
    )
