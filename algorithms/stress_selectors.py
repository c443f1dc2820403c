"""Reads of stress runs (docs/stress.md): the robustness a run, a board entry or a transfer
cell shows.

The figures of a method on a task are its newest succeeded stress run's: the one compared
with that clean run when there is one, else the newest of the same version on the task's
current data. Shown per split: a board's own split; a run's ``all`` rows once the private
rows may be shown to the viewer, else only the copies of public rows (before the reveal only
copies of public-split rows count). The shape (the API's ``robustness``)::

    {"families": {name: {"score", "ratio", "flip_rate", "clean", "rows"}},
     "mean_ratio", "worst_family", "split", "rows", "run", "clean_run", "skipped"}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from algorithms.models import STRESS_PROFILES, AlgorithmRun, AlgorithmRunStatus
from challenge_platform.models import Challenge
from challenge_platform.selectors import is_organizer

ALL = "all"
PUBLIC = "public"


def robustness_split(*, challenge: Challenge, user: AbstractBaseUser | AnonymousUser) -> str:
    """The rows a viewer's robustness counts: every copy once private rows may be shown to
    them (organizers; everyone after the reveal), else copies of public rows only."""
    return ALL if is_organizer(user=user) or challenge.private_visible() else PUBLIC


def robustness_view(*, stress_run: AlgorithmRun | None, split: str) -> dict[str, Any] | None:
    """A stress run's figures on ``split`` in the API's shape; None without any."""
    if stress_run is None or stress_run.status != AlgorithmRunStatus.SUCCEEDED:
        return None
    record = stress_run.robustness or {}
    figures = (record.get("splits") or {}).get(split)
    if not figures:
        return None
    return {
        "families": figures.get("families") or {},
        "mean_ratio": figures.get("mean_ratio"),
        "worst_family": figures.get("worst_family"),
        "split": split,
        "rows": figures.get("rows"),
        "run": stress_run.pk,
        "clean_run": record.get("clean_run"),
        "skipped": record.get("skipped") or {},
    }


def _stress_runs(runs: Sequence[AlgorithmRun]) -> list[AlgorithmRun]:
    """Succeeded stress runs of the runs' versions on their tasks, newest first."""
    pairs = {(run.version_id, run.task_id) for run in runs}
    if not pairs:
        return []
    where = Q(pk__in=[])
    for version_id, task_id in pairs:
        where |= Q(version_id=version_id, task_id=task_id)
    return list(
        AlgorithmRun.objects.filter(
            where, profile__in=STRESS_PROFILES, status=AlgorithmRunStatus.SUCCEEDED
        )
        .select_related("task")
        .order_by("-finished_at", "-pk")
    )


def stress_runs_for(*, runs: Iterable[AlgorithmRun]) -> dict[int, AlgorithmRun | None]:
    """Run id -> the stress run whose figures it shows (itself for a stress run)."""
    runs = list(runs)
    found: dict[int, AlgorithmRun | None] = {}
    clean = [run for run in runs if run.profile not in STRESS_PROFILES]
    candidates = _stress_runs(clean)
    for run in runs:
        if run.profile in STRESS_PROFILES:
            found[run.pk] = run
            continue
        own = [s for s in candidates if s.stress_of_id == run.pk]
        same = [
            s
            for s in candidates
            if s.version_id == run.version_id
            and s.task_id == run.task_id
            and (s.options or {}).get("data_version") == s.task.data_version
        ]
        found[run.pk] = (own or same or [None])[0]
    return found


def robustness_for_runs(*, runs: Iterable[AlgorithmRun], split: str) -> dict[int, dict | None]:
    """Run id -> its robustness on ``split`` (None: no stress run has finished yet)."""
    found = stress_runs_for(runs=runs)
    return {pk: robustness_view(stress_run=s, split=split) for pk, s in found.items()}


def robustness_for_submissions(
    *, submission_ids: Iterable[int], split: str
) -> tuple[dict[int, dict | None], set[int]]:
    """Submission id -> the robustness of the run that made it, and the ids of the
    submissions a run made (the others are prediction files: "needs an algorithm")."""
    runs = list(
        AlgorithmRun.objects.filter(submission_id__in=list(submission_ids)).select_related("task")
    )
    shown = robustness_for_runs(runs=runs, split=split)
    return {run.submission_id: shown.get(run.pk) for run in runs}, {r.submission_id for r in runs}
