"""What scoring does when a task's data is replaced by a new version (``task.replace``).

Called on ``challenges.hooks.TaskDataChanged`` (``scoring.receivers``):
every submission of the task goes back in the queue (the rescore path of ``sweep``), the
built-in trivial baseline is rebuilt from the new train labels, and every uploaded reference
file is read again against the new solution. A reference whose file no longer fits the new
test set (other ids) is kept, marked unusable with the scoring core's reason, and has no
scores or predictions until a fitting file replaces it. The AutoGluon baseline is queued again
by the algorithms app (``BENCHMARK_ON_ARRIVAL``); until its new run is scored, its reference
follows the baseline team's rescored submission.
"""

from __future__ import annotations

import io
import logging

from django.db import transaction

from challenges.stored_files import StoredFile, delete_on_commit, field_files
from datasets.models import Task
from datasets.phase_versions import requeue_phase_ids
from scoring.core import SubmissionInvalid
from scoring.models import Reference, ReferenceSource
from scoring.services.references import reference_score_into, reference_trivial_ensure
from scoring.services.sweep import task_submissions_requeue

logger = logging.getLogger(__name__)


def task_data_changed(*, task_id: int, phase_id: int | None = None) -> None:
    """A task got a new data version (``scoring.receivers``): re-queue the submissions that
    read it (a phase's own version: that phase's only; an ordinary one: all but those of
    phases with their own, ``datasets.phase_versions``) and refresh its references."""
    task = Task.objects.select_related("track__challenge").get(pk=task_id)
    only, excluded = requeue_phase_ids(task=task, phase_id=phase_id)
    count = task_submissions_requeue(task_id=task.pk, only_phases=only, except_phases=excluded)
    logger.info("task %s v%s: %s submissions re-queued", task.slug, task.data_version, count)
    task_references_refresh(task=task)


def task_references_refresh(*, task: Task) -> None:
    """Rebuild the trivial baseline and re-score the uploaded references on ``task``'s
    current data (see the module docstring). Each reference is refreshed in its own
    savepoint: one that fails is logged and never undoes the others or the re-queue; a
    trivial baseline that cannot be rebuilt now is gone (the board's refresh builds it)."""
    stale_files: list[StoredFile] = []
    trivial = Reference.objects.filter(task=task, source=ReferenceSource.TRIVIAL).first()
    if trivial is not None:
        was_primary = trivial.is_primary
        trivial.delete()  # its files go once this commits (challenges.stored_files)
        try:
            with transaction.atomic():
                rebuilt = reference_trivial_ensure(task=task)
                if was_primary and rebuilt is not None:
                    Reference.objects.filter(pk=rebuilt.pk).update(is_primary=True)
        except Exception:
            logger.exception("rebuilding the trivial baseline of task %s failed", task.slug)
    for reference in Reference.objects.filter(task=task, source=ReferenceSource.UPLOAD):
        # its name now (a save renames it)
        names = field_files(row=reference, columns=["predictions"])
        try:
            with transaction.atomic():
                _reference_rescore(reference, task=task)
        except Exception:
            logger.exception("re-reading reference %s of task %s failed", reference.pk, task.slug)
            continue
        stale_files += names
    delete_on_commit(files=stale_files)


def _reference_rescore(reference: Reference, *, task: Task) -> None:
    reference.unusable_reason = ""
    if not reference.file:
        reference.unusable_reason = "Its file is missing; upload it again."
    else:
        try:
            with reference.file.open("rb") as handle:
                data = handle.read()
            reference_score_into(
                reference=reference, task=task, source=io.BytesIO(data), max_bytes=None
            )
        except SubmissionInvalid as exc:
            reference.unusable_reason = (
                f"It does not fit data version {task.data_version}: {exc.message}"
            )
        except OSError:
            logger.warning("reference %s unreadable", reference.pk, exc_info=True)
            reference.unusable_reason = "Its file could not be read; upload it again."
    if reference.unusable_reason:
        reference.scores = {}
        reference.public_score = None
        reference.private_score = None
        reference.predictions = ""
    reference.save()
