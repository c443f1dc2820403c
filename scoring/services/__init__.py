"""Writes of the scoring app, by sub-domain (docs/architecture.md, House style: services).

- :mod:`.upload` - a participant's upload or a job's predictions become a queued submission;
- :mod:`.lifecycle` - scoring one submission on the shared job lifecycle;
- :mod:`.sweep` - the sweeper and rescoring;
- :mod:`.finals` - final selection and visibility.

The names below are the package's public API; import them from ``scoring.services``.
"""

from scoring.services.finals import submission_final_set, submission_visibility_set
from scoring.services.lifecycle import (
    FINAL,
    INTERNAL_ERROR_MESSAGE,
    PENDING,
    SCORING,
    publish_scoring,
    submission_score,
)
from scoring.services.sweep import (
    SweepReport,
    submission_rescore,
    submissions_sweep,
    task_rescore,
)
from scoring.services.upload import (
    FORMAT_SUFFIX,
    MULTIPART_SLACK_BYTES,
    SubmissionRefused,
    idempotency_key_check,
    submission_admission_check,
    submission_create,
    submission_create_for_job,
    submission_replay,
)
from scoring.solutions import solution_cache

__all__ = [
    "FINAL",
    "FORMAT_SUFFIX",
    "INTERNAL_ERROR_MESSAGE",
    "MULTIPART_SLACK_BYTES",
    "PENDING",
    "SCORING",
    "SubmissionRefused",
    "SweepReport",
    "idempotency_key_check",
    "publish_scoring",
    "solution_cache",
    "submission_admission_check",
    "submission_create",
    "submission_create_for_job",
    "submission_final_set",
    "submission_replay",
    "submission_rescore",
    "submission_score",
    "submission_visibility_set",
    "submissions_sweep",
    "task_rescore",
]
