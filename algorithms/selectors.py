"""Reads of the algorithms app: which algorithms and runs a user may see, and the
baseline's runs as the console, ``run_baselines`` and the task owner's page show them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from algorithms.models import (
    ACTIVE,
    FINAL,
    Algorithm,
    AlgorithmRun,
    AlgorithmRunStatus,
    AlgorithmVersion,
    BaselineRun,
)
from algorithms.services.profiles import cell_profile_names, entry_profile_names
from challenges.selectors import is_organizer
from challenges.upload_budget import StoredFiles
from common.numbers import number_text
from common.splits import SHOWN_ORDER
from datasets.models import Task
from jobs.changes import JobState, row_key
from scoring.models import Submission, SubmissionStatus

User = AbstractBaseUser | AnonymousUser


def algorithm_list(*, user: User, challenge_slug: str | None = None) -> QuerySet[Algorithm]:
    """The algorithms ``user`` may see: their teams' ones; organizers all."""
    algorithms = Algorithm.objects.select_related("challenge", "team").order_by(
        "challenge__slug", "team__name", "name"
    )
    if not user.is_authenticated:
        return algorithms.none()
    if not is_organizer(user=user):
        algorithms = algorithms.filter(team__memberships__user=user)
    if challenge_slug:
        algorithms = algorithms.filter(challenge__slug=challenge_slug)
    return algorithms


def algorithm_get(*, user: User, algorithm_pk: int) -> Algorithm | None:
    """One algorithm if ``user`` may see it, else None (someone else's looks missing)."""
    return algorithm_list(user=user).filter(pk=algorithm_pk).first()


def algorithm_run_list(*, user: User, algorithm: Algorithm | None = None) -> QuerySet[AlgorithmRun]:
    runs = AlgorithmRun.objects.select_related(
        "version__algorithm__team", "task__track__challenge", "submission", "started_by"
    ).order_by("-created_at", "-id")
    if not user.is_authenticated:
        return runs.none()
    if not is_organizer(user=user):
        runs = runs.filter(version__algorithm__team__memberships__user=user)
    if algorithm is not None:
        runs = runs.filter(version__algorithm=algorithm)
    return runs


def algorithm_run_status_state(*, run_pk: int) -> JobState:
    """What a waiting read of the run watches (``jobs.api_wait``): its status and its
    submission's, with when each last changed; final once the run is and its submission (if
    it made one) is scored or failed, as ``chal`` waits for it. The caller has checked who
    may see it."""
    row = (
        AlgorithmRun.objects.filter(pk=run_pk)
        .values_list(
            "status",
            "status_changed_at",
            "submission_id",
            "submission__status",
            "submission__status_changed_at",
        )
        .first()
    )
    if row is None:
        return JobState(parts=(), final=True, keys=(row_key(model=AlgorithmRun, pk=run_pk),))
    status, _, submission_id, submission_status, _ = row
    keys = [row_key(model=AlgorithmRun, pk=run_pk)]
    if submission_id is not None:
        keys.append(row_key(model=Submission, pk=submission_id))
    return JobState(
        parts=tuple(row),
        final=status in FINAL
        and submission_status not in (SubmissionStatus.QUEUED, SubmissionStatus.SCORING),
        keys=tuple(keys),
    )


def algorithm_run_get(*, user: User, run_pk: int) -> AlgorithmRun | None:
    return algorithm_run_list(user=user).filter(pk=run_pk).order_by().first()


def algorithm_run_visible_team(*, user: User, run_pk: int) -> int | None:
    """The team whose run ``run_pk`` is, when ``user`` may see it (what
    :func:`algorithm_run_get` would find, without reading it: a held read checks first, caps
    its waits by the team, and reads the run once its wait is over); None when not."""
    return (
        algorithm_run_list(user=user)
        .filter(pk=run_pk)
        .order_by()
        .values_list("version__algorithm__team_id", flat=True)
        .first()
    )


def latest_version_number(*, algorithm: Algorithm) -> int | None:
    version = algorithm.versions.order_by("-number").only("number").first()
    return version.number if version else None


# --- the transfer matrix's cells -----------------------------------------------------------


def transfer_cell_runs(
    *, tasks: Iterable[Task], only: Sequence[str] = ()
) -> dict[tuple[int, int], AlgorithmRun]:
    """(algorithm id, task id) -> the run that is the algorithm's cell on the task: the one
    rule of which run stands for an algorithm on a task (the transfer matrix, its API and
    the decomposition read it).

    1. Only a profile that fills cells (``RunProfile.fills_cell``: not a reproduction, which
       checks another run and never stands for the algorithm, whatever its outcome).
    2. Only a run that says something about the algorithm: failed, or succeeded with a score
       (its submission scored, or its predictions stored on the run). A cancelled run and one
       whose submission is still being scored are passed over.
    3. The newest version first: a newer version is the algorithm now, so its failure
       replaces an older version's score.
    4. Then the run on the task's newest data (the manifest's ``task_data_version``; a run
       without one, from before manifests or failed before it saw the data, counts as on
       the first data version): a failure on new data replaces a score on old.
    5. Then a succeeded run before a failed one: the same version on the same data did
       produce predictions, so a later failure of that version there (a lost or busy worker,
       a limit hit, a flaky step) is that run's story, not the algorithm's; it stays in the
       algorithm's run list with its reason.
    6. Then the newest (finished last, then the highest id).

    ``only``: the fields the caller reads (a run holds a dozen JSON fields; a matrix of
    20,000 cells need not decode them all); default: every field. Each run's version, its
    algorithm and team are read once per version and shared by its runs (a 20,000-cell
    matrix has a few hundred versions: four model instances a run were most of its read).
    """
    runs = AlgorithmRun.objects.filter(
        task__in=list(tasks),
        profile__in=cell_profile_names(),
        status__in=(AlgorithmRunStatus.SUCCEEDED, AlgorithmRunStatus.FAILED),
    ).select_related("submission")
    if only:
        own = [name for name in only if not name.startswith("version__")]
        runs = runs.only(*own, "version")
    runs = runs_with_versions(runs=list(runs))
    best: dict[tuple[int, int], tuple[tuple, AlgorithmRun]] = {}
    for run in runs:
        if run.status == AlgorithmRunStatus.SUCCEEDED:
            if run.submission_id and run.submission.status != SubmissionStatus.SCORED:
                continue
            if not run.submission_id and not run.predictions:
                continue
        key = (run.version.algorithm_id, run.task_id)
        rank = _cell_rank(run)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, run)
    return {key: run for key, (_, run) in best.items()}


def runs_with_versions(*, runs: list[AlgorithmRun]) -> list[AlgorithmRun]:
    """``runs``, each with its version (with algorithm and team) where it holds only the
    version's id: read in one query, one instance per version shared by its runs."""
    bare = [run for run in runs if not AlgorithmRun.version.is_cached(run)]
    if not bare:
        return runs
    versions = AlgorithmVersion.objects.filter(
        pk__in={run.version_id for run in bare}
    ).select_related("algorithm__team")
    shared = {version.pk: version for version in versions}
    for run in bare:
        run.version = shared[run.version_id]
    return runs


def _cell_rank(run: AlgorithmRun) -> tuple:
    """Higher is the better claim to a cell (rules 3 to 6 of :func:`transfer_cell_runs`)."""
    data_version = (run.manifest or {}).get("task_data_version")
    finished = run.finished_at.timestamp() if run.finished_at else float("-inf")
    return (
        run.version.number,
        data_version if isinstance(data_version, int) else 1,
        run.status == AlgorithmRunStatus.SUCCEEDED,
        finished,
        run.pk,
    )


# --- the baseline's runs (the console, run_baselines, the task owner's page) ----------------


def baseline_run_list(*, task: Task | None = None) -> QuerySet[BaselineRun]:
    """Baseline runs, newest first, with their task, version and submission."""
    runs = BaselineRun.objects.select_related(
        "task", "task__track", "submission", "version__algorithm"
    )
    return runs.filter(task=task) if task is not None else runs


def baseline_run_active(*, task: Task) -> AlgorithmRun | None:
    """The task's queued or running baseline, if any (the database allows one)."""
    return BaselineRun.objects.filter(task=task, status__in=ACTIVE).first()


def board_runs_pending(*, task_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """(task id, team id) -> ``"queued"`` or ``"running"`` (running wins): the runs not yet
    final whose success becomes their team's entry on the task's board (a team's run, the
    AutoGluon baseline: ``RunProfile.makes_entry``). The track board shows such a cell as on
    its way, never as a missing score."""
    found: dict[tuple[int, int], str] = {}
    rows = AlgorithmRun.objects.filter(
        task_id__in=list(task_ids), profile__in=entry_profile_names(), status__in=ACTIVE
    ).values_list("task_id", "version__algorithm__team_id", "status")
    for task_id, team_id, status in rows:
        if found.get((task_id, team_id)) != AlgorithmRunStatus.RUNNING:
            found[(task_id, team_id)] = str(status)
    return found


@dataclass(frozen=True)
class StoredArtifact:
    """An output file a run's profile kept, in private storage."""

    name: str
    stored: str
    storage: Any

    def open(self) -> Any:
        return self.storage.open(self.stored, "rb")


def run_artifact(*, run: AlgorithmRun, name: str) -> StoredArtifact | None:
    """The stored output file ``name`` a run's profile kept (e.g. the baseline's
    ``leaderboard.csv`` and ``fit.log``), or None. Organizers only: the caller checks."""
    stored = (run.artifacts or {}).get(name)
    if not isinstance(stored, str) or not stored:
        return None
    storage = AlgorithmRun._meta.get_field("predictions").storage
    return StoredArtifact(name=name, stored=stored, storage=storage)


def run_summary(*, run: AlgorithmRun) -> str:
    """One line on how a run went: its error, or for a success what the result says
    (the baseline: presets, time, best model, validation score, submission)."""
    if run.status != AlgorithmRunStatus.SUCCEEDED:
        return run.error
    result, options = run.result or {}, run.options or {}
    parts = [f"{run.version.algorithm.name} v{run.version.number}"]
    if options.get("presets"):
        parts[0] += f" ({options['presets']})"
    if run.seconds is not None:
        parts.append(f"{run.seconds:.0f} s")
    if result.get("best_model"):
        parts.append(f"best model {result['best_model']}")
    score = result.get("validation_score")
    if isinstance(score, int | float):
        parts.append(f"validation {result.get('eval_metric') or 'score'} {number_text(score)}")
    if run.submission_id:
        parts.append(f"submitted as #{run.submission_id}")
    return "; ".join(parts)


@dataclass(frozen=True)
class BaselineResult:
    """One run as the ``run_baselines`` summary and the benchmarks' table show it."""

    run_pk: int
    task: str
    kind: str
    status: str
    message: str
    presets: str
    time_limit: int | None
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
        if self.status not in FINAL:
            return False
        return self.submission_status in (None, SubmissionStatus.SCORED, SubmissionStatus.FAILED)


def baseline_results(*, run_pks: Iterable[int]) -> list[BaselineResult]:
    """The runs ``run_pks`` with their baseline submission's primary score per split."""
    runs = (
        baseline_run_list()
        .filter(pk__in=list(run_pks))
        .order_by("task__track__order", "task__order", "task__slug", "pk")
    )
    out = []
    for run in runs:
        task, submission = run.task, run.submission
        result, options = run.result or {}, run.options or {}
        scores: dict[str, float | None] = {}
        if submission is not None:
            for split in SHOWN_ORDER:
                scores[split] = (submission.scores or {}).get(split, {}).get(task.primary_metric)
        out.append(
            BaselineResult(
                run_pk=run.pk,
                task=task.slug,
                kind=task.kind,
                status=run.status,
                message=run_summary(run=run),
                presets=str(options.get("presets") or ""),
                time_limit=options.get("time_limit"),
                elapsed=run.seconds,
                fit_seconds=result.get("fit_seconds"),
                validation_score=result.get("validation_score"),
                best_model=str(result.get("best_model") or ""),
                primary_metric=task.primary_metric,
                submission_status=submission.status if submission is not None else None,
                scores=scores,
            )
        )
    return out


def team_archive_files(*, team_pk: int) -> list[StoredFiles]:
    """The team's stored algorithm archives, every version (the team's share of the storage
    quota, ``challenges.upload_budget``)."""
    rows = AlgorithmVersion.objects.filter(algorithm__team_id=team_pk)
    return [StoredFiles(rows=rows, size="archive_size")]
