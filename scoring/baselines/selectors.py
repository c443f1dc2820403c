"""Reads of the baselines app: runs per task, their results and their artifacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile

from datasets.models import Task
from scoring.baselines.models import ACTIVE_STATUSES, FINAL_STATUSES, BaselineRun
from scoring.models import SubmissionStatus

# Name in the admin URL -> the BaselineRun field that stores it (organizers only).
ARTIFACTS = {"leaderboard.csv": "leaderboard_csv", "fit.log": "fit_log"}


def baseline_run_list(*, task: Task | None = None) -> QuerySet[BaselineRun]:
    """Runs, newest first, with their task and submission."""
    runs = BaselineRun.objects.select_related("task", "task__track", "submission")
    return runs.filter(task=task) if task is not None else runs


def baseline_run_active(*, task: Task) -> BaselineRun | None:
    """The task's queued or running baseline, if any (the database allows one)."""
    return BaselineRun.objects.filter(task=task, status__in=ACTIVE_STATUSES).first()


def baseline_run_artifact(*, run: BaselineRun, name: str) -> FieldFile | None:
    """The stored artifact ``name`` (``leaderboard.csv`` or ``fit.log``) of ``run``, or None."""
    field = ARTIFACTS.get(name)
    if field is None:
        return None
    stored: FieldFile = getattr(run, field)
    return stored if stored else None


@dataclass(frozen=True)
class BaselineResult:
    """One run as the ``run_baselines`` summary and the README table show it."""

    run_pk: int
    task: str
    kind: str
    status: str
    message: str
    presets: str
    time_limit: int
    elapsed: float | None
    fit_seconds: float | None
    validation_score: float | None
    best_model: str
    primary_metric: str
    submission_status: str | None
    scores: dict[str, float | None]  # split -> primary metric

    @property
    def done(self) -> bool:
        """Finished, and its submission (if any) scored or failed."""
        if self.status not in FINAL_STATUSES:
            return False
        return self.submission_status in (
            None,
            SubmissionStatus.SCORED,
            SubmissionStatus.FAILED,
        )


def baseline_results(*, run_pks: Iterable[int]) -> list[BaselineResult]:
    """The runs ``run_pks`` with their baseline submission's primary score per split."""
    runs = (
        baseline_run_list()
        .filter(pk__in=list(run_pks))
        .order_by("task__track__order", "task__order", "task__slug", "pk")
    )
    out = []
    for run in runs:
        task = run.task
        submission = run.submission
        scores: dict[str, float | None] = {}
        if submission is not None:
            for split in ("public", "private", "all"):
                scores[split] = (submission.scores or {}).get(split, {}).get(task.primary_metric)
        out.append(
            BaselineResult(
                run_pk=run.pk,
                task=task.slug,
                kind=task.kind,
                status=run.status,
                message=run.message,
                presets=run.presets,
                time_limit=run.time_limit,
                elapsed=run.elapsed,
                fit_seconds=(run.result or {}).get("fit_seconds"),
                validation_score=run.validation_score,
                best_model=run.best_model,
                primary_metric=task.primary_metric,
                submission_status=submission.status if submission is not None else None,
                scores=scores,
            )
        )
    return out
