"""Writes of the scoring app, by sub-domain (docs/architecture.md, House style:
services).

- :mod:`.upload` - a participant's upload or a job's predictions become a queued submission;
- :mod:`.lifecycle` - scoring one submission on the shared job lifecycle;
- :mod:`.sweep` - the sweeper and rescoring;
- :mod:`.finals` - final selection and visibility.

The names below are the package's public API; import them from ``scoring.services``.
"""

from __future__ import annotations

from types import ModuleType

from common.lazy import lazy_exports

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


def _modules() -> tuple[ModuleType, ...]:
    """Where the names above live: imported on the first read of one (``common.lazy``):
    importing one module of this package (the job types' neighbours, a task's service)
    imports the package first, and what scores is only needed where a submission is
    handled."""
    from scoring import solutions
    from scoring.services import finals, lifecycle, sweep, upload

    return (finals, lifecycle, sweep, upload, solutions)


__getattr__ = lazy_exports(__name__, __all__, _modules)
