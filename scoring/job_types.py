"""The scoring app's job types on the one lifecycle (docs/architecture.md, "The job
lifecycle"), registered in ``ScoringConfig.ready()``: a submission's scoring
(``queued -> scoring -> scored | failed``, :mod:`scoring.services.lifecycle`) and a task's
trivial baseline build (``queued -> building -> built | failed``,
:mod:`scoring.services.reference_builds`). Here, apart from the services that run them, so
that every process knows the types without importing what scores
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called")."""

from __future__ import annotations

from django.conf import settings

from jobs.registry import JobType
from scoring import task_names
from scoring.models import ReferenceBuild, ReferenceBuildStatus, Submission, SubmissionStatus

SCORING = JobType(
    model=Submission,
    task_name=task_names.SCORE_SUBMISSION,
    pk_kwarg="submission_pk",
    queued=SubmissionStatus.QUEUED,
    running=SubmissionStatus.SCORING,
    final=(SubmissionStatus.SCORED, SubmissionStatus.FAILED),
    failed=SubmissionStatus.FAILED,
    max_attempts=lambda submission: int(settings.SCORING_MAX_ATTEMPTS),
    label="submission",
)

TRIVIAL_BUILD = JobType(
    model=ReferenceBuild,
    task_name=task_names.BUILD_TRIVIAL_REFERENCE,
    pk_kwarg="build_pk",
    queued=ReferenceBuildStatus.QUEUED,
    running=ReferenceBuildStatus.BUILDING,
    final=(ReferenceBuildStatus.BUILT, ReferenceBuildStatus.FAILED),
    failed=ReferenceBuildStatus.FAILED,
    max_attempts=lambda build: int(settings.SCORING_MAX_ATTEMPTS),
    label="trivial baseline build",
)
