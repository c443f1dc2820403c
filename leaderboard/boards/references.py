"""References on a task's boards (docs/architecture.md §11): rows without a rank, and
flip columns.

- :func:`references_sync` keeps the built-in references current (the trivial baseline,
  the AutoGluon baseline's latest submission) and returns the primary one's predictions;
- :func:`entry_flips_fill` sets the NFR/PFR columns (with their bootstrap interval) of a
  split's entries against that reference;
- :func:`board_with_references` merges the references into a board's entries, in score
  order, each with ``rank: None``, ``is_baseline: True`` and its ``reference`` name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from common.flips import RightRule
from datasets.models import Task
from kinds import kind_get, metric_info
from leaderboard.core.flipboard import flip_intervals
from leaderboard.models import LeaderboardEntry
from scoring.models import Reference, ReferenceSource
from scoring.reference_selectors import (
    primary_reference,
    reference_list,
    reference_predictions,
    reference_scores_sealed,
)
from scoring.services.references import (
    AUTOGLUON_NAME,
    reference_autogluon_sync,
    reference_trivial_ensure,
)

logger = logging.getLogger(__name__)

FLIP_FIELDS = ("nfr", "nfr_low", "nfr_high", "pfr", "pfr_low", "pfr_high")


def references_sync(*, task: Task) -> np.ndarray | None:
    """Bring the built-in references up to date; the primary reference's labels, or None.

    A trivial baseline that cannot be built (unreadable train labels) is logged, not
    raised: the board's intervals still come.
    """
    try:
        reference_trivial_ensure(task=task)
    except Exception:
        logger.exception("building the trivial baseline of task %s failed", task.slug)
    reference_autogluon_sync(task=task)
    if not kind_get(task.kind).flips:
        return None  # rows are never right or wrong (grouping: a cluster id is no label)
    primary = primary_reference(task=task)
    if primary is None:
        return None
    aligned = reference_predictions(reference=primary)
    return None if aligned is None else np.asarray(aligned.pred)


def entry_flips_fill(
    *,
    entries: Sequence[LeaderboardEntry],
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    reference: np.ndarray | None,
    rows: np.ndarray,
    seed: int = 0,
    n_resamples: int = 1000,
    is_right: RightRule | None = None,
) -> None:
    """Set (or clear) the flip columns of ``entries`` (aligned with ``preds``) in place;
    ``is_right`` is the task's rule of a right row (``Solution.is_right``)."""
    intervals = []
    if reference is not None and reference.shape == np.shape(y):
        intervals = flip_intervals(
            y=y,
            preds=preds,
            reference=reference,
            rows=rows,
            seed=seed,
            n_resamples=n_resamples,
            is_right=is_right,
        )
    for i, entry in enumerate(entries):
        for name in FLIP_FIELDS:
            setattr(entry, name, getattr(intervals[i], name) if intervals else None)


@dataclass
class ReferenceRow:
    """A reference on a board, read like a ``LeaderboardEntry`` by pages and the API."""

    reference: str
    score: float | None
    metrics: dict[str, Any]
    best_submitted_at: datetime
    is_primary_reference: bool = False
    # An owner's upload while the owner competes: scored, its numbers shown at the reveal.
    sealed: bool = False
    position: int = 0
    rank: None = None
    team_id: None = None
    is_baseline: bool = True
    submission_count: int = 0
    last_submission_at: None = None
    score_low: None = None
    score_high: None = None
    rank_low: None = None
    rank_high: None = None
    rank_set_low: None = None  # references are not ranked: no rank set either
    rank_set_high: None = None
    tied_with_best: bool = False
    team: Any = field(default=None)
    nfr: None = None
    nfr_low: None = None
    nfr_high: None = None
    pfr: None = None
    pfr_low: None = None
    pfr_high: None = None
    cpu_seconds: None = None  # no algorithm run made it

    def __post_init__(self) -> None:
        self.team = SimpleNamespace(name=self.reference, pk=None)

    @property
    def opis(self) -> float | None:
        return self.metrics.get("opis")


def _scored(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def board_with_references(
    *, task: Task, split: str, entries: Sequence[LeaderboardEntry]
) -> list[Any]:
    """``entries`` (board order) with the task's references merged in by score (better
    first, as the primary metric's direction says).

    Entries gain ``reference`` (the AutoGluon name on the baseline team's entry, else
    None), ``is_primary_reference`` and ``opis``; positions are renumbered 1..n.
    """
    references = reference_list(task=task)
    primary = primary_reference(task=task, references=references)
    metric = metric_info(task.primary_metric)
    has_autogluon_entry = any(e.is_baseline for e in entries)
    rows: list[Any] = []
    for e in entries:
        e.reference = AUTOGLUON_NAME if e.is_baseline else None
        e.is_primary_reference = bool(
            e.is_baseline and primary is not None and primary.source == ReferenceSource.AUTOGLUON
        )
        e.opis = (e.metrics or {}).get("opis")
        rows.append(e)
    extra = [
        _row(r, split, primary)
        for r in references
        if not (r.source == ReferenceSource.AUTOGLUON and has_autogluon_entry)
    ]
    for row in extra:
        at = len(rows)
        if _scored(row.score):
            at = next(
                (
                    i
                    for i, e in enumerate(rows)
                    if not _scored(e.score) or metric.better(row.score, e.score)
                ),
                len(rows),
            )
        rows.insert(at, row)
    for position, row in enumerate(rows, start=1):
        row.position = position
    return rows


def _row(reference: Reference, split: str, primary: Reference | None) -> ReferenceRow:
    sealed = reference_scores_sealed(reference=reference)  # boards are the public's
    score = reference.public_score if split == "public" else reference.private_score
    return ReferenceRow(
        reference=reference.name,
        score=None if sealed else score,
        metrics={} if sealed else dict((reference.scores or {}).get(split, {})),
        best_submitted_at=reference.created_at,
        is_primary_reference=primary is not None and primary.pk == reference.pk,
        sealed=sealed,
    )
