"""A run that made a submission tells its submission's truth (issue 24).

A team's (or the baseline's) run succeeds when its predictions passed the output check and
became a submission; scoring finishes that submission later, on another worker. The output
check does scoring's own validation (:mod:`algorithms.services.output`), so a submission a
run made fails at scoring only for another reason: an internal error that used its
attempts, a task whose data changed and whose rescoring refuses the file, an organizer's
rescore. The run must not keep saying "succeeded" then, on its page, in the API, in
``chal algorithm submit --wait`` or in the transfer matrix. So the run **follows its
submission's final status** through the one event path (``hooks.SubmissionFinished``, in
scoring's transaction, so the two never disagree once committed):

- the submission failed: the run is ``failed`` with "its submission #N failed at scoring:"
  and scoring's message;
- the submission is scored (e.g. rescored after such a failure): the run is ``succeeded``
  again, without an error.

A run with a submission always ran to the end (a run gets its submission in the
transaction that succeeds it), so these are the only two ways its status changes after it
finished; a run without a submission is never touched. While the submission is queued or
being scored the run says ``succeeded`` and the API's ``submission_status`` says what
scoring is doing (``chal algorithm submit --wait`` waits for both).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from scoring.models import Submission, SubmissionStatus

logger = logging.getLogger(__name__)

FAILED_AT_SCORING = "Its submission #{pk} failed at scoring: {error}"


def run_follow_submission(*, submission_id: int) -> None:
    """A submission ended (``algorithms.receivers``): the run that made it takes its final
    status (see the module)."""
    # The hook runs each receiver in a savepoint of the scoring's transaction already: no
    # second one here (two round trips less per scoring); alone, its own transaction.
    with transaction.atomic(savepoint=False):
        run = (
            AlgorithmRun.objects.select_for_update()
            .filter(submission_id=submission_id)
            .first()
        )
        if run is None:
            return
        submission = Submission.objects.only("status", "error").get(pk=submission_id)
        if submission.status == SubmissionStatus.FAILED:
            status = AlgorithmRunStatus.FAILED
            error = FAILED_AT_SCORING.format(pk=submission.pk, error=submission.error)[:4000]
        elif submission.status == SubmissionStatus.SCORED:
            status, error = AlgorithmRunStatus.SUCCEEDED, ""
        else:
            return
        if run.status not in (AlgorithmRunStatus.SUCCEEDED, AlgorithmRunStatus.FAILED):
            return  # not finished by its worker yet (cannot happen: it has its submission)
        if (run.status, run.error) == (status, error):
            return
        run.status, run.error, run.status_changed_at = status, error, timezone.now()
        run.save(update_fields=["status", "error", "status_changed_at"])
    logger.info("run %s follows submission %s: %s", run.pk, submission.pk, status)
