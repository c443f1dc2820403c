"""A track of real imported tasks where teams' algorithm runs made scored submissions, for
the living benchmark's wiring tests (decomposition, frontier, P(first)).

Runs are rows made the way the worker leaves them (succeeded, with the scored submission
and the CPU-seconds); scoring is the real scorer, in-process (no sandbox: the algorithms'
own tests run those through the real worker; here the statistics over what they leave).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.utils import timezone

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.builtin import baseline_team_get_or_create
from challenges.models import Challenge, Team, Track
from datasets.models import Task
from leaderboard.core.benchmark.decomposition import (
    BenchmarkAlgorithm,
    BenchmarkTask,
    Decomposition,
    DeltaCell,
    decompose_transfer,
)
from leaderboard.core.transfer import transfer_cell
from leaderboard.refresh import task_leaderboard_refresh
from scoring.core import load_predictions
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job
from scoring.solutions import solution_for_task
from tests.scoring_tests.factories import (
    ChallengeFactory,
    imported_task,
    make_participant,
    predictions_frame,
)

# wrong share of labels per team and task: "owls" are good everywhere, "hawks" good on
# their own task only, "crows" middling
WRONG = {
    "owls": {"t-one": 0.10, "t-two": 0.15, "t-three": 0.12},
    "hawks": {"t-one": 0.45, "t-two": 0.05, "t-three": 0.40},
    "crows": {"t-one": 0.30, "t-two": 0.30, "t-three": 0.35},
}
BASELINE_WRONG = 0.35
CPU = {"owls": 40.0, "hawks": 5.0, "crows": 60.0}


@dataclass
class BenchWorld:
    challenge: Challenge
    track: Track
    tasks: dict[str, Task]
    teams: dict[str, Team]
    users: dict[str, object]
    algorithms: dict[str, Algorithm]


def _submit(tmp_path: Path, task: Task, team: Team, wrong: float, seed: int) -> Submission:
    path = tmp_path / f"pred-{task.slug}-{team.pk}-{seed}.csv"
    predictions_frame(task, wrong=wrong, seed=seed).to_csv(path, index=False)
    submission = submission_create_for_job(
        task=task, team=team, predictions=path, note="run", name=f"run-{team.pk}"
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    return submission


def bench_world(
    tmp_path: Path, *, owners: bool = True, wrong: dict[str, dict[str, float]] | None = None
) -> BenchWorld:
    """The track (``wrong`` overrides WRONG's shares, team by team)."""
    wrong = {**WRONG, **(wrong or {})}
    challenge = ChallengeFactory(slug="bench", private_revealed=False)
    tasks = {
        slug: imported_task(tmp_path, challenge=challenge, slug=slug, rows=200)
        for slug in ("t-one", "t-two", "t-three")
    }
    track = tasks["t-one"].track
    participants = {name: make_participant(challenge, username=name) for name in wrong}
    teams = {name: p.team for name, p in participants.items()}
    for name, team in teams.items():
        team.name = name
        team.save(update_fields=["name"])
    if owners:  # hawks contributed t-two, owls t-one
        for slug, owner in (("t-one", "owls"), ("t-two", "hawks")):
            tasks[slug].owner_team = teams[owner]
            tasks[slug].save(update_fields=["owner_team"])
    baseline = baseline_team_get_or_create(challenge=challenge)
    algorithms = {}
    for seed, (name, team) in enumerate(teams.items()):
        algorithm = Algorithm.objects.create(challenge=challenge, team=team, name=f"{name}-method")
        version = AlgorithmVersion.objects.create(
            algorithm=algorithm, number=1, archive="x.zip", archive_sha256="0" * 64
        )
        algorithms[name] = algorithm
        for offset, (slug, task) in enumerate(tasks.items()):
            submission = _submit(tmp_path, task, team, wrong[name][slug], 10 * seed + offset)
            AlgorithmRun.objects.create(
                version=version,
                task=task,
                status=AlgorithmRunStatus.SUCCEEDED,
                submission=submission,
                cpu_seconds=CPU[name] + offset,
                finished_at=timezone.now(),
            )
    for offset, task in enumerate(tasks.values()):
        _submit(tmp_path, task, baseline, BASELINE_WRONG, 100 + offset)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return BenchWorld(
        challenge=challenge,
        track=track,
        tasks=tasks,
        teams=teams,
        users={name: p.user for name, p in participants.items()},
        algorithms=algorithms,
    )


def _pred(submission: Submission) -> np.ndarray:
    with submission.predictions.open("rb") as handle:
        return np.asarray(load_predictions(handle.read()).pred)


def core_decomposition(
    world: BenchWorld, split: str = "public", *, without: frozenset[str] = frozenset()
) -> Decomposition:
    """The core fed independently: each cell recomputed from the files, the team and owner
    read from the rows; the cells of the tasks named in ``without`` left out (a reader who
    may not see them), the tasks themselves kept."""
    algorithms, tasks, cells = [], [], []
    for algorithm in world.algorithms.values():
        algorithms.append(BenchmarkAlgorithm(name=str(algorithm.pk), team=algorithm.team_id))
    baseline_of = {}
    for task in world.tasks.values():
        tasks.append(BenchmarkTask(name=task.slug, owner=task.owner_team_id))
        entry = task.leaderboard_entries.get(split=split, is_baseline=True)
        baseline_of[task.slug] = entry.submission
    for algorithm in world.algorithms.values():
        for task in world.tasks.values():
            if task.slug in without:
                continue
            run = algorithm.versions.get().runs.filter(task=task).latest("pk")  # the cell's
            solution = solution_for_task(task=task)
            public = np.asarray(solution.is_public, dtype=bool)
            cell = transfer_cell(
                y=np.asarray(solution.y),
                pred=_pred(run.submission),
                baseline_pred=_pred(baseline_of[task.slug]),
                kind=task.kind,
                rows=public if split == "public" else ~public,
            )
            cells.append(
                DeltaCell(
                    algorithm=str(algorithm.pk),
                    task=task.slug,
                    delta=cell.delta,
                    resamples=cell.resamples,
                )
            )
    return decompose_transfer(algorithms=algorithms, tasks=tasks, cells=cells)
