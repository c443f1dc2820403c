"""The states the manual's pictures of the living benchmark, the stress runs and the champion
show (tests/browser_tests/test_manual_screenshots.py), built as the leaderboard and
algorithms tests build theirs: real imports, real scoring, the real statistics.

Nothing here trains a model or starts the sandbox: a team's clean run is the row the worker
leaves (succeeded, with its scored submission), as in ``benchmark_world``; a stress run is
queued by the beat's tick (``stress_queue``), claimed and staged by the worker's own steps and
finished by its own outcome (``stress_finish``: scored against the copies' truth, compared
with the clean run); only the method between the two, the program of the algorithm's
archive, runs in this process instead of the sandbox (the sandbox's own tests run such
programs confined, tests/algorithms_tests/test_stress_runs.py).
"""

from __future__ import annotations

import os
import runpy
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from django.utils import timezone

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus
from algorithms.services.dispatch import run_claim_next
from algorithms.services.outcome import Ending
from algorithms.services.profiles import STRESS
from algorithms.services.stress import stress_finish, stress_stage
from algorithms.services.stress_queue import stress_queue
from algorithms.services.taskfolder import task_folder_write
from algorithms.services.upload import algorithm_version_create
from challenges.models import Challenge, Team, Track
from datasets.models import Task
from datasets.services import task_import
from leaderboard.champion.beat import champion_tick
from leaderboard.champion.services import champion_check_run
from leaderboard.models import ChampionChange, ChampionCheck, ChampionCheckStatus
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.models import Submission
from scoring.services.references import reference_upload
from scoring.services.upload import submission_create
from testkit.archives import algorithm_zip
from tests.algorithms_tests.stress_data import BRITTLE_MAIN, ROBUST_MAIN, write_products_bundle
from tests.leaderboard_tests.benchmark_world import BenchWorld, bench_world
from tests.leaderboard_tests.champion_world import gate_task, world_of
from tests.scoring_tests.factories import ChallengeFactory, csv_bytes, make_participant, upload
from tests.scoring_tests.references_helpers import scored

# --- the living benchmark: a transfer matrix, its decomposition, P(first), comparisons ---------

# benchmark_world's team -> what the pages call it and its method
TRANSFER_TEAMS = {
    "owls": ("Owls", "Gradient boosting"),
    "hawks": ("Hawks", "Domain rules"),
    "crows": ("Crows", "Linear model"),
}
TRANSFER_TASKS = {
    "t-one": "Support tickets: which queue",
    "t-two": "Invoices: which ledger",
    "t-three": "Product reviews: which aspect",
}


def transfer_track(tmp_path: Path) -> BenchWorld:
    """``benchmark_world``'s track (three classification tasks; the Owls good everywhere,
    the Hawks good on the task they contributed only, the Crows middling; each cell made by
    the team's method, the AutoGluon baseline's file on every task), named as a reader of
    the manual meets it."""
    world = bench_world(tmp_path)
    Challenge.objects.filter(pk=world.challenge.pk).update(title="Spring benchmark")
    Track.objects.filter(pk=world.track.pk).update(title="Ticket classification")
    for slug, title in TRANSFER_TASKS.items():
        Task.objects.filter(pk=world.tasks[slug].pk).update(title=title)
    for key, (team, method) in TRANSFER_TEAMS.items():
        Team.objects.filter(pk=world.teams[key].pk).update(name=team)
        Algorithm.objects.filter(pk=world.algorithms[key].pk).update(name=method)
    for task in world.tasks.values():
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
        leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)
    world.track.refresh_from_db()
    return world


# --- stress runs: the robustness column and a run's families -----------------------------------

STRESS_PLAN = [
    {"family": "typos", "strength": 0.5, "share": 0.5},
    {"family": "transliteration", "share": 0.5},
]
# team -> (username, the algorithm's name, its program)
STRESS_TEAMS = {
    "Owls": ("owl", "Fuzzy folded titles", ROBUST_MAIN),
    "Hawks": ("hawk", "Exact strings", BRITTLE_MAIN),
}


@dataclass(frozen=True)
class StressBoard:
    task: Task
    algorithms: dict[str, Algorithm]  # team name -> its algorithm


def run_program(source: str, *, task_dir: Path, output_dir: Path) -> Path:
    """The algorithm's ``main.py`` run in this process on ``task_dir`` (what the sandbox
    shows at ``/task``); its ``predictions.csv``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    main = output_dir.parent / "main.py"
    main.write_text(source, encoding="utf-8")
    with mock.patch.dict(os.environ, {"TASK_DIR": str(task_dir), "OUTPUT_DIR": str(output_dir)}):
        runpy.run_path(str(main), run_name="__main__")
    return output_dir / "predictions.csv"


def _clean_run(tmp_path: Path, task: Task, participant, name: str, source: str) -> Algorithm:
    """The team's archive uploaded, and its run on ``task`` as the worker leaves it: the
    program's predictions on the task's ``/task`` submitted as the team's and scored."""
    version = algorithm_version_create(
        challenge=task.track.challenge,
        user=participant.user,
        file=upload(algorithm_zip(source, name=name), "algorithm.zip"),
    )
    work = tmp_path / f"run-{version.pk}"
    folder = task_folder_write(task=task, folder=work / "task")
    predictions = run_program(source, task_dir=folder, output_dir=work / "output")
    submission = scored(
        submission_create(
            task=task,
            user=participant.user,
            file=upload(predictions.read_bytes(), "predictions.csv"),
            note=f"algorithm {name} v{version.number}",
        )
    )
    AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=submission,
        started_by=participant.user,
        cpu_seconds=0.5,
        finished_at=timezone.now(),
        manifest={"task_data_version": task.data_version},
    )
    return version.algorithm


def stress_runs_finish(tmp_path: Path, programs: dict[int, str]) -> int:
    """Every queued stress run claimed, staged (the copies), its version's program (by
    algorithm id in ``programs``) run on them and finished by the worker's outcome; how
    many succeeded."""
    done = 0
    while True:
        token = uuid.uuid4().hex
        run = run_claim_next(served=(STRESS,), token=token)
        if run is None:
            return done
        work = tmp_path / f"stress-{run.pk}"
        staged = stress_stage(run=run, folder=work / "task")
        predictions = run_program(
            programs[run.version.algorithm_id], task_dir=staged.folder, output_dir=work / "output"
        )
        ending = Ending(run=run, token=token, job_type=STRESS.job_type, context={"staged": staged})
        status = stress_finish(ending=ending, predictions=predictions)
        assert status == AlgorithmRunStatus.SUCCEEDED, AlgorithmRun.objects.get(pk=run.pk).error
        done += 1


def stress_board(tmp_path: Path) -> StressBoard:
    """A product-matching task whose titles carry accents, with two stress families (typos,
    transliteration): the Owls' method folds and compares the titles fuzzily, the Hawks'
    keys on exact strings, both right on every clean pair; their stress runs finished; the
    Larks sent a prediction file (no method to stress). The board's intervals computed."""
    challenge = ChallengeFactory(
        title="Catalogue matching", daily_submission_limit=20, private_revealed=False
    )
    task = task_import(
        source=write_products_bundle(tmp_path / "bundle", stress=STRESS_PLAN),
        challenge_slug=challenge.slug,
        track_slug="products",
    )
    algorithms, programs = {}, {}
    for team, (username, name, source) in STRESS_TEAMS.items():
        participant = make_participant(challenge, username=username, name=team)
        algorithm = _clean_run(tmp_path, task, participant, name, source)
        algorithms[team], programs[algorithm.pk] = algorithm, source
    assert len(stress_queue(tasks=[task])) == len(STRESS_TEAMS)  # the beat's stress tick
    assert stress_runs_finish(tmp_path, programs) == len(STRESS_TEAMS)
    larks = make_participant(challenge, username="lark", name="Larks")
    with task.test_parquet.open("rb") as handle:
        test = pd.read_parquet(handle)
    exact = (test["left_title"] == test["right_title"]).astype(int)
    scored(
        submission_create(
            task=task,
            user=larks.user,
            file=upload(csv_bytes(test[["id"]].assign(label=exact)), "larks.csv"),
            note="exact titles, as a file",
        )
    )
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)
    return StressBoard(task=task, algorithms=algorithms)


# --- the champion: its timeline and the verdicts -----------------------------------------------

CHAMPION_SLUG = "product-categories"


@dataclass(frozen=True)
class ChampionTask:
    task: Task
    crowned: list[Submission]  # in the order they were crowned


# how -> the share of the champion's right rows it breaks, and where
BREAKS = {"better": (0.002, None), "many_flips": (0.07, None), "breaks_red": (0.3, "red")}


def _next_entry(world, champion: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    """An entry made from the champion of its day, as a team improves on the model in
    production: 60% of its mistakes fixed, and a share of the rows it had right broken
    (:data:`BREAKS`: everywhere, or in one slice only)."""
    share, color = BREAKS[how]
    right = champion == world.truth
    out = champion.copy()
    fix = ~right & (rng.random(len(out)) < 0.6)
    out[fix] = world.truth[fix]
    where = right if color is None else right & (world.color == color)
    broken = where & (rng.random(len(out)) < share)
    out[broken] = (out[broken] + 1) % len(world.classes)
    return out


def _weigh_queued() -> None:
    for pk in ChampionCheck.objects.filter(status=ChampionCheckStatus.QUEUED).values_list(
        "pk", flat=True
    ):
        champion_check_run(check_pk=pk)


def champion_task(tmp_path: Path) -> ChampionTask:
    """``champion_world``'s gated task (a ``color`` slice; the data owners' production model,
    wrong on 15% of the rows, uploaded as the primary reference: the first champion), then
    four entries a few days apart, each made from the champion of its day and weighed by the
    gate against it: the Owls fix most of its mistakes with few flips (crowned), the Hawks
    break many rows it had right, the Kestrels break the red slice, the Owls improve again
    (crowned). The beat's minute then weighs every board entry against today's champion."""
    challenge = ChallengeFactory(title="Spring benchmark", daily_submission_limit=10)
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug=CHAMPION_SLUG)
    Task.objects.filter(pk=task.pk).update(title="Product categories")
    world = world_of(task)
    reference_upload(
        task=task,
        name="Production model (June)",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    owls = make_participant(challenge, username="alice", name="Owls")
    hawks = make_participant(challenge, username="bob", name="Hawks")
    kestrels = make_participant(challenge, username="carol", name="Kestrels")
    rounds = [(9, owls, "better"), (7, hawks, "many_flips"), (5, kestrels, "breaks_red")]
    rounds.append((2, owls, "better"))
    rng = np.random.default_rng(2026)
    champion, crowned = world.reference, []
    for days, participant, how in rounds:
        codes = _next_entry(world, champion, how, rng)
        submission = scored(
            submission_create(task=task, user=participant.user, file=upload(world.file(codes)))
        )
        _weigh_queued()  # its deciding check, against the champion of the day
        at = timezone.now() - timedelta(days=days)
        Submission.objects.filter(pk=submission.pk).update(created_at=at)
        changes = ChampionChange.objects.filter(submission_id=submission.pk)
        if changes.exists():
            changes.update(at=at)
            champion = codes
            crowned.append(submission)
    ChampionChange.objects.filter(by="initial").update(at=timezone.now() - timedelta(days=14))
    champion_tick()  # the beat's minute: every entry against today's champion
    _weigh_queued()
    return ChampionTask(task=task, crowned=crowned)
