"""The one run pipeline: claim -> ``/task`` folder -> sandbox -> output -> outcome.

Every run goes through :func:`algorithm_run_execute`, whatever its profile
(:mod:`algorithms.services.profiles`), which decides its limits (stored on the row when it
was queued), its environment, what of its output is kept, and its outcome.

**Which run.** The message is a doorbell: the worker claims the best queued run of the
profiles its Celery task serves (:mod:`algorithms.services.dispatch`: priority class, the
team's fair share, age), whichever run the message names.

The sandbox's ``/task`` is written by :mod:`algorithms.services.taskfolder` (exactly what a
participant may download; ``test.parquet`` in row groups). The output is a stranger's
files (:mod:`algorithms.services.output`): each one opened without following links, only
when it is a regular file, size-capped, and the predictions read by the uploads' bounded
reader and aligned with the task's solution, as scoring will align them, in a process of
its own before anything else: predictions scoring would refuse fail the run, never its
submission.

**Cancel at any moment.** Every stage checks the run's cancel flag (read with the
heartbeat, every few seconds): copying and unpacking the archive, writing ``/task`` (per
megabyte or row group), waiting for memory, the sandbox (polled), copying the solution and
reading the output (the reader process is killed), and once more before the outcome. A
cancelled run ends ``cancelled`` and its working folder is removed; the worker is free.

**Manifest.** Once ``/task`` is written the run's inputs are recorded
(:mod:`algorithms.services.manifest`; the seed goes into ``task.json`` and ``SEED``); a
profile that allows it takes the result of a finished run with the same inputs instead of
starting the sandbox. What the sandbox used is added when it ends.

**A stop is not a failure.** When the worker is asked to stop (:mod:`jobs.stopping`) the
watch answers "stop" within a poll: the sandbox's process group is killed, and whatever the
run was doing it goes back to the queue with its attempt (:func:`.outcome.give_back`).

**Redelivery.** Celery's task id is stable across redeliveries, and the run stores the
delivery that claimed it. A message that finds a run ``running`` under its *own* id is a
redelivery after its worker died mid-run: that run starts again while the profile allows
another attempt, and fails with the profile's "worker lost" message otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded  # celery.exceptions's, without kombu
from django.conf import settings
from django.core.files.base import File

from algorithms.core import ArchiveInvalid, extract_archive
from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.sandbox import spare
from algorithms.sandbox.base import (
    LOG_TAIL_BYTES,
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)
from algorithms.sandbox.bubblewrap import default_backend
from algorithms.sandbox.ledger import MemoryBudgetExceeded
from algorithms.services.common import archive_limits, memory_ledger
from algorithms.services.dispatch import run_claim_next
from algorithms.services.kept_models import (
    kept_model_drop,
    kept_model_keep,
    kept_models_sweep,
    model_handover,
)
from algorithms.services.manifest import manifest_inputs, reusable_run, with_use
from algorithms.services.outcome import Ending, fail_run, give_back, take_result
from algorithms.services.output import (
    CheckedOutput,
    OutputReadCancelled,
    OutputRefused,
    SolutionFile,
    output_copy,
    predictions_checked,
)
from algorithms.services.profiles import RunProfile, profile_named, profile_of, served_with
from algorithms.services.staged import Staged
from algorithms.services.staging import staging_folder_create, staging_sweep
from algorithms.services.taskfolder import run_task, task_folder_write
from algorithms.services.watch import RunCancelled, RunWatch
from common.files import delete_file_quietly, local_path
from common.finite import json_finite
from datasets.models import Task
from jobs import lifecycle, stopping

logger = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024
# What of a run's other output is read at most: its result.json, and each kept file.
RESULT_MAX_BYTES = 1024 * 1024
ARTIFACT_MAX_BYTES = 50 * 1024 * 1024
INTERNAL_ERROR = (
    "An internal error stopped the run (not the algorithm's fault); the organizers have been "
    "notified."
)


class RunFailed(Exception):
    """The run ends ``failed`` with this message (the algorithm's or its output's fault)."""


def algorithm_run_execute(
    *,
    run_pk: int | None = None,
    delivery_id: str | None = None,
    worker: str | None = None,
    backend: SandboxBackend | None = None,
    served: Sequence[RunProfile] | None = None,
) -> str:
    """Run the best queued run of the ``served`` profiles once; return the status it
    ended in (or why nothing was done).

    The message is a doorbell (:mod:`algorithms.services.dispatch`): ``run_pk`` is the run
    that rang, not necessarily the one that runs. ``served``: the profiles of the Celery task that
    got the message (it passes its group; default: ``run_pk``'s profile's group, for a
    direct call).
    Safe for any message, any number of times: only the delivery holding a run's claim may
    finish it, so a run never completes twice.
    """
    served = served or _served_of(run_pk)
    if not served:
        return "skipped"
    if stopping.stop_requested():  # a message taken as the worker stops: left for the next
        return "skipped"
    token = delivery_id or uuid.uuid4().hex
    backend = backend or default_backend(sandbox_uid=settings.ALGORITHM_SANDBOX_UID)
    # The sandbox's first process, kept ready since the last run or started now, in its
    # cgroups while the run is claimed and staged (algorithms.sandbox.launcher, .spare).
    prepared = spare.take(backend)
    run = None
    try:
        run = run_claim_next(served=served, token=token, delivery_id=delivery_id, worker=worker)
    finally:
        if run is None:  # nothing to run, or the claim failed: kept for the next, or gone
            spare.give_back(backend, prepared)
    if run is None:
        return "skipped"
    profile = profile_of(run=run)
    staging_sweep()
    if profile.hands_model is not None:  # only the baselines' workers keep models
        kept_models_sweep()
    work = staging_folder_create(run_pk=run.pk)
    output = work / "output"
    live_log = output / profile.live_log if profile.live_log else None
    watch = RunWatch(run_pk=run.pk, token=token, log_path=live_log)
    ending = Ending(run=run, token=token, job_type=profile.job_type)
    started = time.monotonic()
    try:
        unpack_version(version=run.version, dest=work / "code", on_chunk=watch.check)
        staged = (profile.stage or clean_stage)(
            run=run, folder=work / "task", on_chunk=watch.check
        )
        ending.context["staged"] = staged
        task_dir = staged.folder
        inputs = manifest_inputs(run=run, task_dir=task_dir)
        ending.fields["manifest"] = inputs
        if profile.reuse() and (origin := reusable_run(run=run, inputs=inputs)) is not None:
            return (profile.take or take_result)(ending=ending, origin=origin)
        limits = SandboxLimits.from_dict(run.limits or {})
        handed, model_file = model_handover(run=run, profile=profile)
        job = SandboxJob(
            code_dir=work / "code",
            entrypoint=run.version.entrypoint,
            task_dir=task_dir,
            output_dir=output,
            limits=limits,
            environment={**profile.environment(run=run), **handed, "SEED": str(run.seed)},
            model_file=model_file,
        )
        reserve = backend.memory_reservation_mb(limits)
        with memory_ledger().reserve(reserve, should_stop=watch.should_stop) as room:
            if not room:
                raise RunCancelled
            watch.check()
            result = backend.run(job, should_stop=watch.should_stop, prepared=prepared)
        watch.drain()
        return _conclude(profile, ending, result, backend, work, watch)
    except RunCancelled:
        return fail_run(ending=ending, error="cancelled before the sandbox started", cancelled=True)
    except MemoryBudgetExceeded as exc:
        return fail_run(ending=ending, error=str(exc))
    except SoftTimeLimitExceeded:  # the sandbox has killed its process group on the way out
        seconds = time.monotonic() - started
        return fail_run(
            ending=ending,
            error=f"stopped by the worker's time limit ({profile.soft_time_limit()} s) after "
            f"{seconds:.0f} s",
            limit_hit="wall_seconds",
            seconds=round(seconds, 3),
            log_tail="\n".join(watch.lines),
        )
    except RunFailed as exc:
        return fail_run(ending=ending, error=str(exc))
    except Exception as exc:
        if stopping.stop_requested() and (given := give_back(ending=ending)) is not None:
            return given  # the stop broke it (a reader process signalled): not the run's fault
        if isinstance(exc, SandboxUnavailable):
            logger.error("run %s: the sandbox is unavailable: %s", run.pk, exc)
        else:
            logger.exception("run %s: internal error", run.pk)
        error = INTERNAL_ERROR
        if profile.internal_detail:
            error += f" ({type(exc).__name__}: {exc})"[:2000]
        return lifecycle.job_retry_or_fail(
            job_type=ending.job_type,
            job=run,
            token=token,
            fail=lambda: fail_run(ending=ending, error=error, log_tail="\n".join(watch.lines)),
        )
    finally:
        spare.give_back(backend, prepared)  # unused (a reused result, a cancel): kept
        shutil.rmtree(work, ignore_errors=True)
        spare.replenish(backend, stopping=stopping.stop_requested())


def clean_stage(
    *, run: AlgorithmRun, folder: Path, on_chunk: Callable[[], None] | None
) -> Staged:
    """The ``/task`` of a clean run: the task as a participant downloads it, checked against
    the task's solution (of the data version of the run's phase: ``run_task``)."""
    task = run_task(run=run)
    return Staged(
        folder=task_folder_write(task=task, folder=folder, on_chunk=on_chunk),
        test_rows=task.test_rows,
        solution=lambda work, on_chunk: solution_file(task=task, work=work, on_chunk=on_chunk),
    )


def _served_of(run_pk: int | None) -> tuple[RunProfile, ...]:
    """The profiles served with ``run_pk``'s profile (a direct call names none)."""
    name = AlgorithmRun.objects.filter(pk=run_pk).values_list("profile", flat=True).first()
    if name is None:
        logger.warning("run %s no longer exists", run_pk)
        return ()
    try:
        return served_with(profile=profile_named(name=name))
    except LookupError:
        logger.error("run %s has the unknown profile %r; left alone", run_pk, name)
        return ()


def unpack_version(
    *, version: AlgorithmVersion, dest: Path, on_chunk: Callable[[], None] | None = None
) -> None:
    """Extract ``version``'s stored archive into ``dest`` (checked again on the way);
    ``on_chunk`` is called after every copied or written chunk (a cancel check)."""
    archive = version.archive
    if not archive:
        raise RunFailed(f"{version} has no stored archive to run")
    local = dest.parent / "archive.zip"
    with archive.storage.open(archive.name, "rb") as source, open(local, "wb") as out:
        while chunk := source.read(COPY_CHUNK):
            out.write(chunk)
            if on_chunk is not None:
                on_chunk()
    try:
        extract_archive(
            local, dest, limits=archive_limits(), label="the archive", on_chunk=on_chunk
        )
    except ArchiveInvalid as exc:  # validated at upload; only a changed rule gets here
        raise RunFailed(str(exc)) from exc
    finally:
        local.unlink(missing_ok=True)


# --- the output ------------------------------------------------------------------------------


def predictions_file(
    *, output: Path,
    cap: int,
    test_rows: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    solution: SolutionFile | None = None,
    hand_over: bool = False,
) -> CheckedOutput:
    """The one predictions file, opened as a regular file only, taken out of the run's
    output folder and read by the uploads' bounded reader in a process of its own, and with
    ``solution`` aligned with it as scoring will, what it aligned handed over when
    ``hand_over`` (the profile scores the run in the worker) (:mod:`algorithms.services.output`);
    :class:`RunFailed` with the reason otherwise."""
    try:
        return predictions_checked(
            output=output,
            cap=cap,
            test_rows=test_rows,
            should_stop=should_stop,
            solution=solution,
            hand_over=hand_over,
        )
    except OutputRefused as exc:
        raise RunFailed(str(exc)) from exc


def solution_file(
    *, task: Task, work: Path, on_chunk: Callable[[], None] | None = None
) -> SolutionFile:
    """``task``'s solution as a local file for the output check: the stored file itself when
    the storage has local paths, else a copy in ``work`` (written only once the sandbox has
    ended, so no run ever shares a folder with it)."""
    stored = task.solution
    local = local_path(stored.storage, stored.name)
    if local is not None:
        path = Path(local)
    else:
        path = work / "solution.parquet"
        with stored.storage.open(stored.name, "rb") as source, open(path, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                out.write(chunk)
                if on_chunk is not None:
                    on_chunk()
    return SolutionFile(
        path=path,
        kind=task.kind,
        classes=tuple(str(c) for c in task.classes or ()),
        test_rows=task.test_rows,
    )


def _conclude(
    profile: RunProfile,
    ending: Ending,
    result: SandboxResult,
    backend: SandboxBackend,
    work: Path,
    watch: RunWatch,
) -> str:
    """Record the sandbox's result and what the profile keeps of the output, then end the
    run: cancelled, failed (naming the limit hit), or the profile's outcome. A cancel asked
    while the output is read or before the outcome ends it cancelled."""
    run, output = ending.run, work / "output"
    written: list[str] = []
    ending.fields.update(
        manifest=with_use(
            inputs=ending.fields.get("manifest") or {},
            cpu=result.cpu_seconds,
            peak=result.peak_memory_mb,
            wall=result.seconds,
        ),
        backend=backend.name,
        seconds=result.seconds,
        cpu_seconds=result.cpu_seconds,
        peak_memory_mb=result.peak_memory_mb,
        log_bytes=result.log_bytes,
        log_tail=_log_tail(profile, result, output),
        exit_code=result.exit_code,
        limit_hit=result.limit_hit or "",
        runner_pid=result.pid,
        **_kept_outputs(profile, run, output, written),
    )
    status = "superseded"
    try:
        if result.cancelled:  # by an organizer or the team; taken over: not ours to end
            status = fail_run(
                ending=ending,
                error=f"cancelled while running (after {result.seconds:.0f} s)",
                cancelled=True,
            )
        elif not result.ok:
            status = fail_run(ending=ending, error=result.message)
        else:
            cap = min(run.limits.get("output_mb", 200) * 1024 * 1024, settings.SUBMISSION_MAX_BYTES)
            staged = ending.context["staged"]
            try:
                solution = staged.solution(work, watch.check)
                checked = predictions_file(
                    output=output,
                    cap=cap,
                    test_rows=staged.test_rows,
                    should_stop=watch.should_stop,
                    solution=solution,
                    hand_over=profile.hand_over,
                )
                if watch.should_stop():
                    raise OutputReadCancelled("cancelled after the output was read")
            except (OutputReadCancelled, RunCancelled) as exc:
                status = fail_run(
                    ending=ending,
                    error=str(exc) or "cancelled while reading the output",
                    cancelled=True,
                )
            except RunFailed as exc:
                status = fail_run(ending=ending, error=str(exc))
            else:
                ending.context["handed"] = checked.handed  # what the check aligned
                if profile.hands_model == "pack":  # for its stress run (:mod:`.kept_models`)
                    kept_model_keep(run=run, output=output)
                status = profile.finish(ending=ending, predictions=checked.file)
    finally:
        if profile.hands_model == "load" and status not in ("superseded", "queued"):
            kept_model_drop(run_pk=run.stress_of_id)  # the stress run has ended
        if status in ("superseded", AlgorithmRunStatus.QUEUED):  # not the row's: given back
            storage = AlgorithmRun._meta.get_field("predictions").storage
            for name in written:
                delete_file_quietly(storage, name)
    return status


def _kept_outputs(
    profile: RunProfile, run: AlgorithmRun, output: Path, written: list[str]
) -> dict[str, Any]:
    """The profile's result file (a JSON object, else {}) and kept files, stored privately
    under the run's name; a missing, odd or oversized one is skipped (and logged)."""
    kept: dict[str, Any] = {"result": {}, "artifacts": {}}
    if profile.result_file:
        kept["result"] = _json_object(output, profile.result_file)
    storage = AlgorithmRun._meta.get_field("predictions").storage
    for name in profile.keep:
        try:
            copy = output_copy(output=output, name=name, cap=ARTIFACT_MAX_BYTES)
        except OutputRefused as exc:
            logger.warning("run %s: %s; not kept", run.pk, exc)
            continue
        if copy is None:
            continue
        with open(copy, "rb") as handle:
            stored = storage.save(
                f"algorithm-runs/{run.task.slug}/run-{run.pk}/{name}", File(handle, name=name)
            )
        written.append(stored)
        kept["artifacts"][name] = stored
    return kept


def _json_object(output: Path, name: str) -> dict[str, Any]:
    """The run's JSON object ``name`` (e.g. the baseline's result.json), {} when it is not
    one; a document nested past the interpreter's recursion limit is not one either."""
    try:
        copy = output_copy(output=output, name=name, cap=RESULT_MAX_BYTES)
        data = json.loads(copy.read_text(encoding="utf-8")) if copy else {}
        return json_finite(data) if isinstance(data, dict) else {}
    except (OutputRefused, OSError, ValueError, RecursionError) as exc:
        logger.warning("/output/%s could not be read: %s", name, exc)
        return {}


def _log_tail(profile: RunProfile, result: SandboxResult, output: Path) -> str:
    """The run's output (stdout and stderr); for a profile with a live log, that log's end,
    and for a failure the output's end after it (the one-line reason may come first)."""
    if profile.live_log is None:
        return result.log_tail
    tail = file_tail(path=output / profile.live_log, size=LOG_TAIL_BYTES)
    if not result.ok and result.log_tail.strip():
        output_tail = result.log_tail[-LOG_TAIL_BYTES // 4 :].strip()
        tail = f"{tail}\n--- output ---\n{output_tail}".strip()
    return tail


def file_tail(*, path: Path, size: int) -> str:
    """The last ``size`` bytes of a regular file ``path`` (never through a link), from a line
    start when the file is longer; "" when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return ""
        end = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, end - size))
        data = handle.read(size)
    if end > size and b"\n" in data:
        data = data.split(b"\n", 1)[1]
    return data.decode("utf-8", "replace").strip()
