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

from algorithms.models import STRESS_PROFILES, AlgorithmRun, AlgorithmRunStatus
from challenge_platform.models import Challenge
from challenge_platform.selectors import is_organizer
from scoring.selectors import User, public_scores_shown

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
    """Succeeded stress runs of the runs' versions on their tasks, newest first.

    One query over the versions and tasks named (a superset of the pairs), kept to the pairs
    here: an OR of one condition per pair is a SQL expression as deep as the matrix is
    large (SQLite refuses past 1,000; a 100 x 200 matrix has 20,000 pairs)."""
    pairs = {(run.version_id, run.task_id) for run in runs}
    if not pairs:
        return []
    found = (
        AlgorithmRun.objects.filter(
            version_id__in=sorted({v for v, _ in pairs}),
            task_id__in=sorted({t for _, t in pairs}),
            profile__in=STRESS_PROFILES,
            status=AlgorithmRunStatus.SUCCEEDED,
        )
        .select_related("task")
        .order_by("-finished_at", "-pk")
    )
    return [run for run in found if (run.version_id, run.task_id) in pairs]


def stress_runs_for(*, runs: Iterable[AlgorithmRun]) -> dict[int, AlgorithmRun | None]:
    """Run id -> the stress run whose figures it shows (itself for a stress run): the newest
    stress run of the run itself, else the newest of its version on its task's current data."""
    runs = list(runs)
    found: dict[int, AlgorithmRun | None] = {}
    clean = [run for run in runs if run.profile not in STRESS_PROFILES]
    own: dict[int, AlgorithmRun] = {}
    same: dict[tuple[int, int], AlgorithmRun] = {}
    for stress in _stress_runs(clean):  # newest first: the first of each key is kept
        if stress.stress_of_id is not None:
            own.setdefault(stress.stress_of_id, stress)
        if (stress.options or {}).get("data_version") == stress.task.data_version:
            same.setdefault((stress.version_id, stress.task_id), stress)
    for run in runs:
        if run.profile in STRESS_PROFILES:
            found[run.pk] = run
        else:
            found[run.pk] = own.get(run.pk) or same.get((run.version_id, run.task_id))
    return found


def robustness_for_runs(
    *, runs: Iterable[AlgorithmRun], split: str, user: User | None = None
) -> dict[int, dict | None]:
    """Run id -> its robustness on ``split`` (None: no stress run has finished yet). With
    ``user``, a run on a ladder board's task has none on the public split for a reader who
    may not see its exact public scores (its clean score is one, docs/ladder.md)."""
    runs = list(runs)
    found = stress_runs_for(runs=runs)
    shown = {pk: robustness_view(stress_run=s, split=split) for pk, s in found.items()}
    if user is not None and split == PUBLIC:
        for run in runs:
            if run.pk in shown and not public_scores_shown(task=run.task, user=user):
                shown[run.pk] = None
    return shown


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
