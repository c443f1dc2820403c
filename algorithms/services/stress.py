"""Stress runs on the worker (docs/organizers/stress.md): stage the perturbed copies, score them,
and compare with the clean run.

A stress run (profiles ``stress`` and ``baseline_stress``) is one version on one task, like
its clean run (``stress_of``), with the same seed and limits, but its ``/task`` holds a test
set made only of perturbed copies of sampled test rows (``kinds.stress.stress_test_set``,
from the plan and the stress seed stored on the run when it was queued): the same
``train.parquet`` and ``images/``, a ``test.parquet`` of copies with fresh ids, and a
``task.json`` whose ``test_rows`` says so; its ``columns`` stay the task's (every one is in
both files), and the columns a family appended to the copies only (``noise_columns``) are
listed apart as ``added_columns``.
The copies' truth never enters the sandbox: it stays in the worker's memory and is written
for the output check only once the sandbox has ended.

Its outcome (:func:`stress_finish`) scores the predictions against the copies' truth,
keeps them (npz, like an organizer's run) and records per split and family the score, the
ratio to the clean run's score on the originals and the flip rate
(``kinds.robustness.stress_figures``) as ``robustness``; a reused stress run
(:func:`stress_take`, same inputs as a finished one) computes them from that run's kept
predictions. Nothing is submitted and no clean score is touched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.files.base import ContentFile

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.outcome import Ending, fail_run
from algorithms.services.output import SolutionFile
from algorithms.services.run_budget import run_stress_max_rows
from algorithms.services.staged import Staged
from algorithms.services.taskfolder import task_folder_write, test_row_group_rows
from challenges import hooks
from common.files import delete_file_quietly
from datasets.models import Task
from jobs import lifecycle
from jobs.registry import CLAIM
from kinds import kind_get
from kinds.robustness import stress_figures
from kinds.stress import Columns, PlannedFamily, StressSet, stress_test_set, train_columns
from scoring.core import (
    Solution,
    SubmissionInvalid,
    load_predictions,
    save_predictions,
    score_file,
    solution_from_table,
)
from scoring.solutions import task_kind_options

logger = logging.getLogger(__name__)

SOLUTION_NAME = "stress-solution.parquet"


def task_columns(*, task: Task) -> Columns:
    """The task's feature columns as ``(name, type)``."""
    return tuple((str(c["name"]), str(c["type"])) for c in task.columns or ())


def stress_seed(*, task: Task, fingerprint: str) -> int:
    """The seed of a task's stress test set: one per task, data version and plan, so every
    method of the task meets the same copies."""
    text = f"{task.slug}:{task.data_version}:{task.split_seed}:{fingerprint}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


# --- staging ---------------------------------------------------------------------------------


def _read_solution(task: Task) -> pa.Table:
    with task.solution.open("rb") as handle:
        return pq.read_table(handle, columns=["id", "label", "split"])


def _in_test_order(solution: pa.Table, test_ids: pa.Array) -> pa.Table:
    """The solution's rows in the test file's order (they are already, by the data
    contract; a hash join otherwise)."""
    ids = solution["id"].combine_chunks().cast(pa.string())
    if len(ids) == len(test_ids) and pc.all(pc.equal(ids, test_ids)).as_py():
        return solution
    at = pc.index_in(test_ids, value_set=ids)
    if at.null_count:
        raise ValueError("the task's solution does not hold every test id")
    return solution.take(at)


def stress_stage(
    *, run: AlgorithmRun, folder: Path, on_chunk: Callable[[], None] | None = None
) -> Staged:
    """Write the stress run's ``/task`` into ``folder`` (see the module)."""
    task = run.task
    options = run.options or {}
    plan = [PlannedFamily(**p) for p in options.get("stress") or ()]
    task_folder_write(task=task, folder=folder, on_chunk=on_chunk)
    columns = task_columns(task=task)
    test = pq.read_table(folder / "test.parquet")
    test_ids = test["id"].combine_chunks().cast(pa.string())
    kind = kind_get(task.kind)
    wanted = ["id", *train_columns(kind, columns, plan)]
    train = pq.read_table(folder / "train.parquet", columns=wanted)
    solution = _in_test_order(_read_solution(task), test_ids)
    split = solution["split"].combine_chunks().cast(pa.string())
    is_public = np.asarray(pc.equal(split, "public").to_numpy(zero_copy_only=False), dtype=bool)
    stress = stress_test_set(
        kind=kind,
        test=test,
        labels=solution["label"].combine_chunks(),
        is_public=is_public,
        train=train,
        columns=columns,
        plan=plan,
        seed=int(options.get("stress_seed") or 0),
        avoid_ids=[train["id"]],
        max_rows=run_stress_max_rows(options=options),
    )
    if on_chunk is not None:
        on_chunk()
    target = folder / "test.parquet"
    target.unlink()  # never written through: the folder's files may be links to shared copies
    # Uncompressed: a local file read once by the run; writing it is the stage's longest step.
    pq.write_table(
        stress.test,
        target,
        row_group_size=test_row_group_rows(),
        compression="none",
        use_dictionary=False,
    )
    meta_path = folder / "task.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["test_rows"] = stress.test.num_rows
    # ``columns`` stays the task's: the columns train.parquet and test.parquet both hold, which
    # a method (the AutoGluon baseline first) trains on. Columns a family appended exist in the
    # copies only (no train row has them: nothing could have learned them), so they are named
    # apart; a method that reads every column of the test file meets them there.
    if stress.added:
        meta["added_columns"] = [{"name": n, "type": t} for n, t in stress.added]
    meta_path.unlink()
    meta_path.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return Staged(
        folder=folder,
        test_rows=stress.test.num_rows,
        solution=lambda work, on_chunk: _solution_file(task, stress, work),
        context=stress,
    )


def _solution_file(task: Task, stress: StressSet, work: Path) -> SolutionFile:
    """The copies' truth as a local file for the output check (after the sandbox ended)."""
    path = work / SOLUTION_NAME
    pq.write_table(stress.solution, path)
    return SolutionFile(
        path=path,
        kind=task.kind,
        classes=tuple(str(c) for c in task.classes or ()),
        test_rows=stress.test.num_rows,
    )


# --- the outcome ------------------------------------------------------------------------------


def stress_solution(*, task: Task, stress: StressSet) -> Solution:
    """The copies' truth as scoring reads a solution (the task's kind options included)."""
    return solution_from_table(
        stress.solution,
        kind=task.kind,
        classes=list(task.classes or ()),
        options=task_kind_options(task=task),
    )


def clean_predictions(*, run: AlgorithmRun) -> np.ndarray | None:
    """The clean run's aligned predictions (its submission's, or kept on the run)."""
    source = run.submission.predictions if run.submission_id else run.predictions
    if not source:
        return None
    with source.open("rb") as handle:
        return np.asarray(load_predictions(handle.read()).pred)


def robustness_record(
    *, run: AlgorithmRun, stress: StressSet, solution: Solution, pred: np.ndarray
) -> dict[str, Any]:
    """What a stress run records (``AlgorithmRun.robustness``): the figures per split, the
    families and those skipped, the plan's fingerprint and the clean run compared with.
    ValueError when the clean run cannot be compared with."""
    clean = run.stress_of
    if clean is None:
        raise ValueError("the clean run it is compared with no longer exists")
    before = clean_predictions(run=clean)
    task = run.task
    if before is None:
        raise ValueError(f"run #{clean.pk} kept no predictions to compare with")
    if before.size != task.test_rows or (stress.origin.size and stress.origin.max() >= before.size):
        raise ValueError(f"run #{clean.pk} predicted another data version's test rows")
    kind = kind_get(task.kind)
    figures = stress_figures(
        kind=kind,
        metric=task.primary_metric or kind.primary,
        classes=solution.classes,
        options=solution.options,
        families=stress.families,
        family=stress.family,
        origin=stress.origin,
        y=np.asarray(solution.y),
        is_public=np.asarray(solution.is_public, dtype=bool),
        pred=pred,
        clean_pred=before,
    )
    return {
        "splits": figures,
        "families": list(stress.families),
        "skipped": dict(stress.skipped),
        "fingerprint": (run.options or {}).get("fingerprint"),
        "clean_run": clean.pk,
        "rows": int(stress.origin.size),
    }


def _succeed(ending: Ending, **fields: Any) -> bool:
    return lifecycle.job_transition(
        job_type=ending.job_type,
        pk=ending.run.pk,
        token=ending.token,
        status=AlgorithmRunStatus.SUCCEEDED,
        error="",
        **{**ending.fields, **fields, CLAIM: ""},
    )


def _finished(
    ending: Ending, stress: StressSet, solution: Solution, pred: np.ndarray, **fields: Any
) -> str:
    run = ending.run
    try:
        robustness = robustness_record(run=run, stress=stress, solution=solution, pred=pred)
    except ValueError as exc:
        return fail_run(ending=ending, error=str(exc))
    if not _succeed(ending, robustness=robustness, **fields):
        return "superseded"
    hooks.emit(event=hooks.StressResultsChanged(task_id=run.task_id))
    logger.info("stress run %s of run %s succeeded", run.pk, robustness["clean_run"])
    return AlgorithmRunStatus.SUCCEEDED


def stress_finish(*, ending: Ending, predictions: Path) -> str:
    """A stress run's outcome: scored against the copies' truth, predictions kept, figures
    recorded (see the module)."""
    run, token = ending.run, ending.token
    stress: StressSet = ending.context["staged"].context
    solution = stress_solution(task=run.task, stress=stress)
    try:
        result = score_file(str(predictions), solution)
    except SubmissionInvalid as exc:
        return fail_run(
            ending=ending,
            error=f"the predictions file is not a valid submission: {exc.message}",
        )
    stored = run.predictions.storage.save(
        run.predictions.field.generate_filename(run, f"run-{run.pk}-{token[:12]}.npz"),
        ContentFile(save_predictions(result.aligned)),
    )
    status = _finished(
        ending, stress, solution, np.asarray(result.aligned.pred), predictions=stored
    )
    if status != AlgorithmRunStatus.SUCCEEDED:
        delete_file_quietly(run.predictions.storage, stored)
    return status


def stress_take(*, ending: Ending, origin: AlgorithmRun) -> str:
    """A stress run whose inputs equal a finished one's: its kept predictions (on the same
    copies) compared with this run's clean run, nothing run."""
    stress: StressSet = ending.context["staged"].context
    with origin.predictions.open("rb") as handle:
        pred = np.asarray(load_predictions(handle.read()).pred)
    solution = stress_solution(task=ending.run.task, stress=stress)
    if pred.size != len(solution.ids):
        return fail_run(ending=ending, error=f"run #{origin.pk} kept predictions of other copies")
    source = origin.reused_from or origin
    return _finished(
        ending,
        stress,
        solution,
        pred,
        predictions=origin.predictions.name,
        reused_from=source,
        manifest={**(ending.fields.get("manifest") or {}), "reused_from": source.pk},
        backend="reused",
    )
