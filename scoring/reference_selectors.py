"""Reads of a task's references (docs/architecture.md §11): which one is primary, their
predictions, and a submission's flips against each of them per visible split."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from challenges.selectors import is_organizer
from common.splits import SHOWN_ORDER
from datasets.models import Task
from kinds import kind_get
from scoring.core import Aligned, load_predictions
from scoring.core.flips import flip_rates
from scoring.models import Reference, ReferenceSource, Submission
from scoring.selectors import User, private_scores_visible, public_scores_shown
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)

# Default primary when none is marked: an upload (the newest), else AutoGluon, else trivial.
_DEFAULT_ORDER = (ReferenceSource.UPLOAD, ReferenceSource.AUTOGLUON, ReferenceSource.TRIVIAL)


def reference_list(*, task: Task) -> list[Reference]:
    """The task's references, built-in ones first, then uploads oldest first."""
    rank = {ReferenceSource.AUTOGLUON: 0, ReferenceSource.TRIVIAL: 1, ReferenceSource.UPLOAD: 2}
    references = list(
        Reference.objects.filter(task=task).select_related(
            "submission", "created_by", "task__track__challenge", "task__owner_team"
        )
    )
    return sorted(references, key=lambda r: (rank.get(r.source, 3), r.created_at, r.pk))


def primary_reference(
    *, task: Task, references: Sequence[Reference] | None = None
) -> Reference | None:
    """The reference flips are measured against: the one marked primary; else the newest
    upload made before the challenge started; else the AutoGluon baseline; else the trivial
    baseline; else None.

    An upload after the start never becomes primary by itself (issue 25): prize
    eligibility is measured against the primary, so changing it then is an organizer's
    explicit choice (``reference_primary_set``).
    """
    references = list(references) if references is not None else reference_list(task=task)
    marked = [r for r in references if r.is_primary]
    if marked:
        return marked[0]
    start = task.track.challenge.start
    for source in _DEFAULT_ORDER:
        # An upload that no longer fits the task's data (a new version) is never the default.
        of_source = [
            r
            for r in references
            if r.source == source
            and not r.unusable_reason
            and (source != ReferenceSource.UPLOAD or r.created_at < start)
        ]
        if of_source:
            return max(of_source, key=lambda r: (r.created_at, r.pk))
    return None


def owner_competes(*, task: Task) -> bool:
    """Whether the task's owner team competes on it: a participant team (not the baseline)
    while the challenge runs, and after its end if it has submitted to the task."""
    team = task.owner_team
    if team is None or team.is_baseline:
        return False
    if timezone.now() < task.track.challenge.end:
        return True
    return Submission.objects.filter(task=task, team_id=team.pk).exists()


def reference_scores_sealed(*, reference: Reference, user: User | None = None) -> bool:
    """Whether the numbers of ``reference`` are withheld from ``user`` (None: the public).

    A file a task owner uploaded, while the owner's team competes on the task and the
    private split is not revealed: showing its scores (or flips against it) would make the
    uploads an oracle of the test labels past the daily limit. It is still scored, for the
    board's flips. Organizers always see the numbers."""
    if reference.source != ReferenceSource.UPLOAD:
        return False
    if user is not None and is_organizer(user=user):
        return False
    author = reference.created_by
    if author is not None and is_organizer(user=author):
        return False
    task = reference.task
    if task.track.challenge.private_visible():
        return False
    return owner_competes(task=task)


def reference_predictions(*, reference: Reference) -> Aligned | None:
    """The reference's predictions aligned to the solution, or None when it has none."""
    stored = reference.predictions
    if reference.source == ReferenceSource.AUTOGLUON and reference.submission is not None:
        stored = reference.submission.predictions
    if not stored:
        return None
    try:
        with stored.open("rb") as fh:
            return load_predictions(fh.read())
    except (OSError, ValueError, KeyError):
        logger.warning("predictions of reference %s unreadable", reference.pk, exc_info=True)
        return None


def _submission_pred(submission: Submission) -> np.ndarray | None:
    try:
        with submission.predictions.open("rb") as fh:
            return np.asarray(load_predictions(fh.read()).pred)
    except (OSError, ValueError, KeyError):
        logger.warning("predictions of submission %s unreadable", submission.pk, exc_info=True)
        return None


def submission_reference_flips(
    *, submission: Submission, user: User
) -> dict[str, dict[str, dict[str, float]]]:
    """``{split: {reference name: {"nfr", "pfr"}}}`` for the splits ``user`` may see.

    Public only until private scores are visible to ``user``; a split without rows or a
    reference without predictions is left out; kinds whose rows are never right or wrong
    have no flips (grouping: a cluster id is not a label that can equal the truth).
    """
    task = submission.task
    if not kind_get(task.kind).flips or not submission.predictions:
        return {}
    if not public_scores_shown(task=task, user=user):
        return {}  # a ladder board: flips on the public rows would give its score away
    references = reference_list(task=task)
    if not references:
        return {}
    visible = private_scores_visible(submission=submission, user=user)
    splits = SHOWN_ORDER if visible else ("public",)
    solution = solution_for_task(task=task)
    y = np.asarray(solution.y)
    is_public = np.asarray(solution.is_public, dtype=bool)
    pred = _submission_pred(submission)
    if pred is None or pred.shape != y.shape:
        return {}
    out: dict[str, dict[str, dict[str, float]]] = {split: {} for split in splits}
    for reference in references:
        if reference_scores_sealed(reference=reference, user=user):
            continue  # flips against it would give its score away
        aligned = reference_predictions(reference=reference)
        if aligned is None or aligned.pred.shape != y.shape:
            continue
        rates = flip_rates(
            y=y,
            pred=pred,
            reference=np.asarray(aligned.pred),
            is_public=is_public,
            is_right=solution.is_right,
        )
        for split in splits:
            if rates.get(split):
                out[split][reference.name] = rates[split]
    return {split: by_ref for split, by_ref in out.items() if by_ref}


def submission_primary_nfr(*, submission: Submission) -> float | None:
    """NFR of ``submission`` against its task's primary reference on the public rows.

    Cached per (submission, primary reference, its predictions file): listing a team's
    submissions does not reload every prediction file each time.
    """
    task = submission.task
    if not kind_get(task.kind).flips or not submission.predictions:
        return None
    primary = primary_reference(task=task)
    if primary is None:
        return None
    stored = primary.submission.predictions if primary.submission else primary.predictions
    files = f"{submission.predictions.name}\0{stored.name}".encode()
    key = f"refs:nfr:{submission.pk}:{primary.pk}:{hashlib.sha256(files).hexdigest()[:16]}"
    cached = cache.get(key)
    if cached is not None:
        return cached["nfr"]
    aligned = reference_predictions(reference=primary)
    solution = solution_for_task(task=task)
    y = np.asarray(solution.y)
    nfr = None
    pred = _submission_pred(submission)
    if aligned is not None and pred is not None and aligned.pred.shape == y.shape == pred.shape:
        rates = flip_rates(
            y=y,
            pred=pred,
            reference=np.asarray(aligned.pred),
            is_public=solution.is_public,
            is_right=solution.is_right,
        )
        nfr = rates["public"].get("nfr")
    cache.set(key, {"nfr": nfr}, timeout=24 * 3600)
    return nfr
