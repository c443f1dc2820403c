"""How a run ends: what its predictions become, and the one way to fail or cancel it.

Each profile (:mod:`algorithms.services.profiles`) names one of the three outcomes of a
succeeded run, all in the transaction that finishes the run and only while this delivery
holds it:

- :func:`submit_as_team` - the team's submission through
  ``scoring.services.upload.submission_create`` with the user who started the run: checked
  (team, open dates, daily limit), stored, scored and ranked exactly like an upload; scored
  here, from what the output check aligned, in the transaction that creates it (no second
  job, no second parse: :func:`team_scored`), and queued for the scoring workers like an
  upload only when that cannot be done;
- :func:`score_for_transfer` - scored here on every split, for the transfer matrix only;
- :func:`submit_as_platform_team` - the submission of the algorithm's own team (the
  challenge's baseline team) through ``submission_create_for_job``: sniffed, stored and
  scored like an upload, unranked; only the participant checks are skipped (the baseline team
  has no members and runs before the challenge opens);
- :func:`compare_with_original` - a reproduction: its predictions are compared row by row
  with the run it repeats (``agreement``), and kept nowhere else.

A run whose worker is stopping ends none of these ways: :func:`give_back` returns it to the
queue (a stop is not a failure, :mod:`jobs.stopping`).

Predictions the scoring checks refuse fail the run with their message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.manifest import reproduction_placement
from algorithms.services.taskfolder import run_task
from challenges import hooks
from challenges.rules import RulesNotAccepted
from challenges.stored_files import StagedFile
from common.files import delete_file_quietly
from jobs import lifecycle, stopping
from jobs.changes import ring_after_commit
from jobs.registry import CLAIM, JobType
from scoring.core import (
    ScoreResult,
    Solution,
    SubmissionInvalid,
    load_predictions,
    save_predictions,
    score_file,
)
from scoring.core.handed import HandedInvalid, handed_size_limit, load_handed, score_handed
from scoring.models import Submission
from scoring.services.lifecycle import Scored
from scoring.services.upload import SubmissionRefused, submission_create, submission_create_for_job
from scoring.solutions import solution_for_task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ending:
    """A run about to end: the row, the delivery holding it, its job type on the lifecycle,
    and the fields every outcome records (use, log tail, kept outputs)."""

    run: AlgorithmRun
    token: str
    job_type: JobType
    fields: dict[str, Any] = field(default_factory=dict)
    # What the pipeline staged the run with (``staged``: algorithms.services.staged.Staged),
    # for an outcome that scores against another truth than the task's (a stress run).
    context: dict[str, Any] = field(default_factory=dict)


Finish = Callable[..., str]  # finish(ending=..., predictions=...) -> the run's status


def run_note(*, run: AlgorithmRun) -> str:
    """The note of the submission a run makes: its algorithm, version, run and options."""
    version = run.version
    options = ", ".join(f"{key} {value}" for key, value in sorted((run.options or {}).items()))
    return (
        f"Algorithm {version.algorithm.name} v{version.number} (run #{run.pk}"
        + (f"; {options}" if options else "")
        + ")"
    )


def submit_as_team(*, ending: Ending, predictions: Path) -> str:
    """A team's run: its predictions become the team's submission, checked like an upload
    and scored here from what the output check aligned (:func:`team_scored`)."""
    run = ending.run
    if run.started_by is None:
        error = "the user who started the run no longer exists, so nothing was submitted"
        return fail_run(ending=ending, error=error)
    try:
        scored = team_scored(ending=ending, predictions=predictions)
    except HandedInvalid as exc:
        return _handed_refused(ending, exc)

    def create() -> Submission:
        # Moved into a local storage, not copied (at 10M rows a copy took 30 ms): the run's
        # folder goes at its end anyway.
        name = predictions.name.removeprefix("submitted-")
        with open(predictions, "rb") as handle:
            return submission_create(
                task=run.task,
                user=run.started_by,
                file=StagedFile(handle, predictions, name=name),
                note=run_note(run=run),
                scored=scored,
                arrived_in=run.phase,
            )

    return _submitted(ending, create, refused="the predictions were not submitted")


def team_scored(*, ending: Ending, predictions: Path) -> Scored | None:
    """The team's run's file scored from what its output check handed over (checked as
    untrusted: :func:`scored_in_worker`), for its submission to be scored in the transaction
    that creates it; :class:`HandedInvalid` when the hand-over is refused (the run fails).
    None when nothing was handed over or scoring it failed for the platform's own reason
    (logged): the submission is then queued for the scoring workers, as an upload is."""
    if ending.context.get("handed") is None:
        return None
    started = time.monotonic()
    try:
        solution = solution_for_task(task=run_task(run=ending.run))
        result, data = scored_in_worker(ending=ending, predictions=predictions, solution=solution)
    except (HandedInvalid, SoftTimeLimitExceeded):
        raise
    except Exception:
        logger.exception(
            "run %s: its hand-over could not be scored; its submission goes to the scoring workers",
            ending.run.pk,
        )
        return None
    seconds = time.monotonic() - started
    return Scored(result=result, predictions=data, solution=solution, seconds=seconds)


def submit_as_platform_team(*, ending: Ending, predictions: Path) -> str:
    """A platform team's run (the baseline): the algorithm's own team submits, unranked."""
    run = ending.run

    def create() -> Submission:
        return submission_create_for_job(
            task=run.task,
            team=run.version.algorithm.team,
            predictions=predictions,
            note=run_note(run=run),
            name=f"{run.profile}-{run.pk}",
        )

    return _submitted(ending, create, refused="the predictions were refused")


def _submitted(ending: Ending, create: Callable[[], Submission], *, refused: str) -> str:
    """Create the run's submission and succeed, in one transaction holding the run; a
    refusal of the scoring checks fails the run with its message after ``refused``. When
    that transaction fails after the submission was made, its stored files go with it (the
    run is tried again, or failed, by the pipeline)."""
    run, job_type = ending.run, ending.job_type
    submission: Submission | None = None
    committed: list[bool] = []
    try:
        with lifecycle.job_locked(job_type=job_type, pk=run.pk, token=ending.token) as locked:
            if locked is None:
                return "superseded"
            # The run's waiters hear first once this commits: a submission scored in this
            # transaction publishes its board's render, its champion check, its mail and
            # its digests after commit, and the run's own ring (its transition's) comes last.
            ring_after_commit(model=AlgorithmRun, pk=run.pk)
            transaction.on_commit(lambda: committed.append(True))
            try:
                submission = create()
            except SubmissionRefused as exc:
                return fail_run(ending=ending, error=f"{refused}: {exc.message}")
            except RulesNotAccepted as exc:
                return fail_run(ending=ending, error=f"{refused}: {exc.detail()}")
            _succeed(ending, submission=submission)
    except BaseException:
        # Rolled back with the transaction, nothing points at its files. (Once committed, an
        # error of the after-commit work leaves them to the rows that point at them.)
        if submission is not None and not committed:
            for stored in (submission.file, submission.predictions):
                if stored:
                    delete_file_quietly(stored.storage, stored.name)
        raise
    logger.info("%s %s succeeded: submission %s", job_type.label, run.pk, submission.pk)
    return AlgorithmRunStatus.SUCCEEDED


HANDED_REFUSED = "the output check's aligned predictions were refused, so nothing was scored: "


def scored_in_worker(
    *, ending: Ending, predictions: Path, solution: Solution
) -> tuple[ScoreResult, bytes]:
    """The run's scores and its predictions as stored (``save_predictions``' bytes): from
    what the output check aligned when it handed it over (``ending.context["handed"]``:
    checked as untrusted, ``scoring.core.handed``; never the file parsed again), else from
    the file. :class:`SubmissionInvalid` or :class:`HandedInvalid` say why not."""
    handed = ending.context.get("handed")
    if handed is None:
        result = score_file(str(predictions), solution)
        return result, save_predictions(result.aligned)
    limit = handed_size_limit(rows=len(solution.ids), classes=solution.n_classes)
    data = handed.read(limit=limit)
    aligned = load_handed(data, solution)
    return score_handed(aligned, solution, row_count=handed.rows, format=handed.format), data


def _handed_refused(ending: Ending, exc: HandedInvalid) -> str:
    """Fail the run whose hand-over was refused: only a process the run's own output took
    over, or a fault of the platform, writes one that is (logged for the operators)."""
    logger.warning("run %s: the output check's hand-over was refused: %s", ending.run.pk, exc)
    return fail_run(ending=ending, error=f"{HANDED_REFUSED}{exc}")


def score_for_transfer(*, ending: Ending, predictions: Path) -> str:
    """An organizer's run: scored on every split for the transfer matrix, never ranked."""
    run, token = ending.run, ending.token
    try:
        result, data = scored_in_worker(
            ending=ending,
            predictions=predictions,
            solution=solution_for_task(task=run_task(run=run)),
        )
    except SubmissionInvalid as exc:
        return fail_run(
            ending=ending,
            error=f"the predictions file is not a valid submission: {exc.message}",
        )
    except HandedInvalid as exc:
        return _handed_refused(ending, exc)
    scores = result.scores()
    stored = run.predictions.storage.save(
        run.predictions.field.generate_filename(run, f"run-{run.pk}-{token[:12]}.npz"),
        ContentFile(data),
    )
    if not _succeed(ending, then=_announce_scored(run.pk), scores=scores, predictions=stored):
        delete_file_quietly(run.predictions.storage, stored)
        return "superseded"
    return AlgorithmRunStatus.SUCCEEDED


def compare_with_original(*, ending: Ending, predictions: Path) -> str:
    """A reproduction: the share of rows whose prediction equals the original run's (both
    aligned with the solution as scoring aligns them), recorded on the reproduction as
    ``agreement``; its predictions are not kept and never submitted."""
    run = ending.run
    original = run.reproduces
    if original is None:
        return fail_run(ending=ending, error="the run it reproduces no longer exists")
    source = original.submission.predictions if original.submission_id else original.predictions
    if not source:
        return fail_run(
            ending=ending, error=f"run #{original.pk} kept no predictions to compare with"
        )
    try:
        result, _ = scored_in_worker(
            ending=ending,
            predictions=predictions,
            solution=solution_for_task(task=run_task(run=run)),
        )
    except SubmissionInvalid as exc:
        return fail_run(
            ending=ending, error=f"the predictions file is not a valid submission: {exc.message}"
        )
    except HandedInvalid as exc:
        return _handed_refused(ending, exc)
    with source.open("rb") as handle:
        before = np.asarray(load_predictions(handle.read()).pred)
    now = np.asarray(result.aligned.pred)
    if before.shape != now.shape:
        return fail_run(
            ending=ending,
            error=f"run #{original.pk} predicted {before.size} rows and this one {now.size}",
        )
    agreement = float(np.mean(before == now)) if now.size else 1.0
    where = reproduction_placement(
        original_worker=original.worker_hostname, worker=run.worker_hostname
    )
    manifest = {**(ending.fields.get("manifest") or {}), "reproduction": where}
    if not _succeed(ending, agreement=agreement, manifest=manifest):
        return "superseded"
    logger.info(
        "reproduction %s of run %s (%s): agreement %.4f",
        run.pk,
        original.pk,
        where["placement"],
        agreement,
    )
    return AlgorithmRunStatus.SUCCEEDED


def take_result(*, ending: Ending, origin: AlgorithmRun) -> str:
    """A run whose inputs equal ``origin``'s (a finished run scored for the transfer
    matrix) takes its scores and stored predictions instead of running; its manifest is the
    original's with ``reused_from``. It used no CPU (no ``cpu_seconds``: neither the budget
    nor the team's share counts it)."""
    manifest = {**(origin.manifest or {}), "reused_from": origin.pk}
    done = _succeed(
        ending,
        then=_announce_scored(ending.run.pk),
        scores=origin.scores,
        predictions=origin.predictions.name,
        reused_from=origin,
        manifest=manifest,
        backend="reused",
    )
    if not done:
        return "superseded"
    logger.info("%s %s took the result of run %s", ending.job_type.label, ending.run.pk, origin.pk)
    return AlgorithmRunStatus.SUCCEEDED


def _succeed(ending: Ending, *, then: Callable[[], None] | None = None, **fields: Any) -> bool:
    return lifecycle.job_transition(
        job_type=ending.job_type,
        pk=ending.run.pk,
        token=ending.token,
        status=AlgorithmRunStatus.SUCCEEDED,
        error="",
        then=then,
        **_final(ending, fields),
    )


def _announce_scored(run_pk: int) -> Callable[[], None]:
    """Tell the layers above, in the transaction that succeeds the run, that it was scored
    on itself (the champion gate weighs it: ``challenges.hooks``)."""
    return lambda: hooks.emit(event=hooks.AlgorithmRunScored(run_id=run_pk))


def _final(ending: Ending, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a final transition: the ending's, these, and no delivery holding it."""
    return {**ending.fields, **fields, CLAIM: ""}


def fail_run(*, ending: Ending, error: str, cancelled: bool = False, **fields: Any) -> str:
    """End the run ``failed`` (or ``cancelled``) with ``error`` if this delivery still holds
    it; returns the status reached, or ``"superseded"``. While its worker is stopping the run
    is given back to the queue instead (:func:`give_back`): what went wrong then is the stop's
    doing (its sandbox killed, a reader process signalled), not the run's."""
    if stopping.stop_requested() and (given := give_back(ending=ending)) is not None:
        return given
    status = AlgorithmRunStatus.CANCELLED if cancelled else AlgorithmRunStatus.FAILED
    run = ending.run
    done = lifecycle.job_transition(
        job_type=ending.job_type,
        pk=run.pk,
        token=ending.token,
        status=status,
        error=error[:4000],
        **_final(ending, fields),
    )
    if done:
        first = error.splitlines()[0] if error else ""
        logger.info("%s %s %s: %s", ending.job_type.label, run.pk, status, first)
        hooks.emit(event=hooks.AlgorithmRunFailed(task_id=run.task_id, run_id=run.pk))
    return status if done else "superseded"


def give_back(*, ending: Ending) -> str | None:
    """The run's worker is stopping (the platform's stop, a container stop:
    :mod:`jobs.stopping`), and the pipeline has killed the run's sandbox: the run goes back
    to the queue with the attempt it used, to run from the start when a worker takes it
    (:func:`jobs.lifecycle.job_give_back`); its log says it was interrupted. None when a
    cancel was asked meanwhile (the caller ends it as asked); ``"superseded"`` when this
    delivery no longer holds it."""
    run = ending.run
    with lifecycle.job_locked(job_type=ending.job_type, pk=run.pk, token=ending.token) as locked:
        if locked is None:
            return "superseded"
        if locked.cancel_requested:
            return None
        started = locked.started_at
        ran = f" after {(timezone.now() - started).total_seconds():.0f} s" if started else ""
        lifecycle.job_give_back(
            job_type=ending.job_type,
            pk=run.pk,
            token=ending.token,
            error="",
            heartbeat_at=None,
            log_tail=(
                f"Interrupted by the platform's stop{ran}; queued again: it runs from the start "
                "when a worker takes it (a stop is not a failure, and used no attempt)."
            ),
        )
    return AlgorithmRunStatus.QUEUED
