"""Stored digests of a submission's page: computed once, read on every view (issue 16).

The insight page shows flips, a confusion matrix, a threshold chart and OPIS curves. Each
comes from the full solution and the full predictions, which a page view must not load
(tens of millions of rows). ``scoring.core.digest`` reduces them to a few KB; this module
stores that in ``InsightDigest`` rows:

- the submission's own digest, written when it is scored (``scoring_digests_store``) or, for a
  submission scored before digests existed, on the first view;
- one flips digest per reference (baseline best, previous best), on the first view that
  needs it: references change as other submissions are scored.

A digest's ``key`` hashes what it was computed from: the digest format, the task's solution
file, its OPIS settings (and the kind's options, where it has any), and the predictions
file of the submission (and the reference). A rescore (new predictions file), a new
solution or new OPIS settings therefore miss the old digest, which is replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from datasets.phase_versions import task_for_phase
from scoring.core import Aligned, Solution, load_predictions
from scoring.core.digest import flips_digest, own_digest
from scoring.core.opis import UtilityCurves
from scoring.models import InsightDigest, Submission
from scoring.solutions import solution_for_task, task_kind_options, task_opis_options

logger = logging.getLogger(__name__)

DIGEST_VERSION = 1
STALE_NOTE = "The predictions were stored for another version of the task's solution."


class DigestUnavailable(Exception):
    """The stored predictions (of the submission or a reference) could not be read."""


def digest_key(
    *, submission: Submission, predictions: str | None = None, reference: Submission | None = None
) -> str:
    """The hash of a digest's inputs (see the module docstring)."""
    task = task_for_phase(task=submission.task, phase_id=submission.phase_id)
    parts = [
        DIGEST_VERSION,
        task.solution.name,
        task_opis_options(task=task),
        predictions if predictions is not None else submission.predictions.name,
        None if reference is None else [reference.pk, reference.predictions.name],
    ]
    kind_options = task_kind_options(task=task)
    if kind_options:  # e.g. a tolerance decides which rows are right (kinds without: as before)
        parts.append(kind_options)
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _save(*, submission: Submission, digests: list[tuple[Submission | None, str, Any]]) -> None:
    """Store each ``(reference, key, data)`` of ``submission`` unless one is stored under its
    key already, and drop its digests against the same references under other keys (stale
    ones): one insert and one delete, whatever the number of digests."""
    stale = Q()
    for reference, key, _ in digests:
        against = Q(reference__isnull=True) if reference is None else Q(reference=reference)
        stale |= against & ~Q(key=key)
    with transaction.atomic():
        InsightDigest.objects.bulk_create(
            [
                InsightDigest(submission=submission, reference=reference, key=key, data=data)
                for reference, key, data in digests
            ],
            ignore_conflicts=True,  # the unique (submission, key): stored already, kept
        )
        InsightDigest.objects.filter(submission=submission).filter(stale).delete()


def _load_aligned(submission: Submission) -> Aligned:
    try:
        with submission.predictions.open("rb") as handle:
            return load_predictions(handle.read())
    except (OSError, ValueError, KeyError) as exc:
        raise DigestUnavailable(str(submission.pk)) from exc


def scoring_digests_store(
    *,
    submission: Submission,
    predictions: str,
    aligned: Aligned,
    solution: Solution,
    curves: dict[str, UtilityCurves] | None,
    references: Iterable[Submission],
) -> None:
    """At scoring time: the own digest of a just-scored submission and its flips against
    ``references`` (their files are read here), stored together. A reference whose file
    cannot be read is left out (the first view computes its flips)."""
    own = digest_key(submission=submission, predictions=predictions)
    digests = [(None, own, own_digest(aligned, solution, curves))]
    for reference in references:
        try:
            flips = _flips_data(solution, aligned, _load_aligned(reference))
        except DigestUnavailable:
            logger.warning("predictions of reference %s unreadable", reference.pk)
            continue
        digests.append((reference, digest_key(submission=submission, reference=reference), flips))
    _save(submission=submission, digests=digests)


def _flips_data(solution: Solution, aligned: Aligned, reference_aligned: Aligned) -> dict[str, Any]:
    """The flips digest, or ``{"stale": True}`` when either side's predictions fit another
    solution version."""
    if reference_aligned.pred.shape != solution.y.shape or aligned.pred.shape != solution.y.shape:
        return {"stale": True}
    return flips_digest(solution=solution, pred=aligned.pred, reference_pred=reference_aligned.pred)


def _stored_or_computed(
    *,
    submission: Submission,
    reference: Submission | None,
    key: str,
    compute: Callable[[Solution], dict[str, Any]],
) -> dict[str, Any]:
    """The digest stored under ``key``, else ``compute`` of the task's solution, stored."""
    found = InsightDigest.objects.filter(submission=submission, key=key).first()
    if found is not None:
        return found.data
    try:
        solution = solution_for_task(
            task=task_for_phase(task=submission.task, phase_id=submission.phase_id)
        )
    except (OSError, ValueError, KeyError) as exc:
        raise DigestUnavailable("solution") from exc
    data = compute(solution)
    _save(submission=submission, digests=[(reference, key, data)])
    return data


def submission_own_digest(*, submission: Submission) -> dict[str, Any]:
    """The submission's own digest: stored, else computed now and stored.

    ``{"note": ...}`` when the predictions do not fit the current solution; raises
    ``DigestUnavailable`` when they cannot be read (nothing is stored then).
    """

    def compute(solution: Solution) -> dict[str, Any]:
        aligned = _load_aligned(submission)
        if aligned.pred.shape != solution.y.shape:
            return {"note": STALE_NOTE}
        return own_digest(aligned, solution)

    key = digest_key(submission=submission)
    return _stored_or_computed(submission=submission, reference=None, key=key, compute=compute)


def submission_flips_digest(*, submission: Submission, reference: Submission) -> dict[str, Any]:
    """Flips of ``submission`` against ``reference`` per visible split: stored, else now.

    ``{"stale": True}`` when the reference's predictions fit another solution version;
    raises ``DigestUnavailable`` when a predictions file cannot be read.
    """

    def compute(solution: Solution) -> dict[str, Any]:
        return _flips_data(solution, _load_aligned(submission), _load_aligned(reference))

    key = digest_key(submission=submission, reference=reference)
    return _stored_or_computed(submission=submission, reference=reference, key=key, compute=compute)
