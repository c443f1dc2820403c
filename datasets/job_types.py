"""The datasets app's job type on the one lifecycle (docs/architecture.md, "The job
lifecycle"), registered in ``DatasetsConfig.ready()``: the check of an uploaded data version
(``queued -> checking -> accepted | refused | failed``, :mod:`datasets.version_uploads`).
Here, apart from the service that runs it, so that every process knows the type without
importing what checks a bundle."""

from __future__ import annotations

from django.conf import settings

from datasets import task_names
from datasets.models import TaskVersionUpload, VersionUploadStatus
from jobs.registry import JobType

VERSION_CHECK = JobType(
    model=TaskVersionUpload,
    task_name=task_names.CHECK_TASK_VERSION,
    pk_kwarg="upload_pk",
    queued=VersionUploadStatus.QUEUED,
    running=VersionUploadStatus.CHECKING,
    final=(VersionUploadStatus.ACCEPTED, VersionUploadStatus.REFUSED, VersionUploadStatus.FAILED),
    failed=VersionUploadStatus.FAILED,
    max_attempts=lambda upload: int(settings.SCORING_MAX_ATTEMPTS),
    label="data version check",
)
