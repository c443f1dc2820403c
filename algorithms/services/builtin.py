"""The AutoGluon baseline as an algorithm: its built-in version, and one run in the sandbox.

**Where the baseline's code lives.** The folder ``scoring/baselines/autogluon_baseline`` of
the repository is the algorithm (``BASELINE_ALGORITHM_DIR`` points elsewhere, e.g. in the
tests). On each run the worker zips it deterministically (sorted names, fixed timestamps,
no ``__pycache__``) and compares the archive's SHA-256 with the latest version of the
algorithm "AutoGluon baseline" of the challenge's baseline team: the same archive reuses
that version; a changed one (a deploy changed the code) becomes the next version, stored
and validated like an upload. So each challenge's baseline team has a real
``Algorithm``/``AlgorithmVersion`` (listed with the others, in the transfer matrix) and a
baseline run records which version made it (``result["algorithm"]``).

**One runner.** A baseline run goes through :func:`algorithms.sandbox.default_backend` with
the same ``/task`` folder as any algorithm (:mod:`algorithms.services.taskfolder`), under
limits of its own: wall clock = the run's ``hard_timeout``, memory ``BASELINE_MEMORY_MB``,
and an ``/output`` large enough for AutoGluon's model folder (deleted by the runner at the
end). The options (fit budget, presets, CPUs, train cap, batch size) reach ``main.py`` as
``BASELINE_*`` environment variables. The baseline keeps its own job row
(:class:`scoring.baselines.models.BaselineRun`), queue (``baselines``), statuses
(``timed_out`` when the wall clock is hit) and submission path (the baseline team's
unranked submission); only the execution is shared.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max

import scoring.baselines.autogluon_baseline as baseline_package
from algorithms.core import ArchiveInvalid, validate_archive
from algorithms.models import Algorithm, AlgorithmVersion, archive_path_for
from algorithms.sandbox import SandboxBackend, SandboxJob, SandboxLimits, default_backend
from algorithms.sandbox.ledger import MemoryBudgetExceeded
from algorithms.services.common import archive_limits, memory_ledger
from algorithms.services.execute import RunFailed, predictions_file, unpack_version
from algorithms.services.taskfolder import task_folder_write
from algorithms.services.upload import algorithm_get_or_create
from challenge_platform import jobs
from challenge_platform.models import Challenge
from scoring.baselines.autogluon_baseline import outputs
from scoring.baselines.models import BaselineRun, BaselineRunStatus
from scoring.baselines.services import (
    BASELINE_TEAM_NAME,
    BaselineCancelled,
    BaselineOutcome,
    BaselineRunWatch,
    baseline_run_claim,
    baseline_team_get_or_create,
    finish,
    record_outcome,
    worker_soft_time_limit,
)

logger = logging.getLogger(__name__)

BASELINE_ALGORITHM_NAME = BASELINE_TEAM_NAME  # "AutoGluon baseline"
TOP_LEVEL = ("algorithm.yaml", "main.py")  # at the archive's top; the rest in the package
PACKAGE = "autogluon_baseline"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# AutoGluon's model folder is written under /output and deleted at the end.
OUTPUT_MB = 4096
PROCESSES = 512
# AutoGluon's own (soft) memory budget, as a share of the address-space limit: virtual
# memory always exceeds the resident memory AutoGluon accounts for.
AG_MEMORY_SHARE = 0.6


# --- the built-in version ------------------------------------------------------------------


def baseline_source_dir() -> Path:
    configured = getattr(settings, "BASELINE_ALGORITHM_DIR", "")
    return Path(configured) if configured else Path(baseline_package.__file__).parent


def baseline_archive(source: Path | None = None) -> bytes:
    """The baseline folder as an algorithm archive, byte for byte the same for the same
    files (see the module docstring)."""
    source = source or baseline_source_dir()
    files = sorted(
        p
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            rel = path.relative_to(source).as_posix()
            name = rel if rel in TOP_LEVEL else f"{PACKAGE}/{rel}"
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def baseline_algorithm_version(*, challenge: Challenge) -> AlgorithmVersion:
    """The baseline team's current built-in version, created (or advanced) from the files."""
    data = baseline_archive()
    digest = hashlib.sha256(data).hexdigest()
    team = baseline_team_get_or_create(challenge=challenge)
    algorithm = algorithm_get_or_create(
        challenge=challenge, team=team, name=BASELINE_ALGORITHM_NAME
    )
    latest = algorithm.versions.order_by("-number").first()
    if latest is not None and latest.archive_sha256 == digest:
        return latest
    try:
        checked = validate_archive(io.BytesIO(data), limits=archive_limits(), label="the baseline")
    except ArchiveInvalid as exc:  # a broken deploy, not a user's fault
        raise RuntimeError(f"the built-in baseline archive is invalid: {exc}") from exc
    storage = AlgorithmVersion._meta.get_field("archive").storage
    stored = storage.save(archive_path_for(team, f"baseline-{digest[:16]}.zip"), ContentFile(data))
    try:
        with transaction.atomic():
            Algorithm.objects.select_for_update().filter(pk=algorithm.pk).values_list("pk").get()
            latest = algorithm.versions.order_by("-number").first()
            if latest is not None and latest.archive_sha256 == digest:  # made concurrently
                jobs.delete_file_quietly(storage, stored)
                return latest
            number = (algorithm.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = AlgorithmVersion.objects.create(
                algorithm=algorithm,
                number=number,
                archive=stored,
                archive_sha256=digest,
                archive_size=len(data),
                description=checked.description,
                entrypoint=checked.entrypoint,
                created_by=None,
            )
    except BaseException:
        jobs.delete_file_quietly(storage, stored)
        raise
    logger.info("built-in baseline of %s: version %s", challenge.slug, version.number)
    return version


# --- one run -------------------------------------------------------------------------------


def baseline_limits(run: BaselineRun) -> SandboxLimits:
    cpus = _num_cpus()
    return SandboxLimits(
        wall_seconds=run.hard_timeout,
        cpu_seconds=run.hard_timeout * cpus + 60,  # the wall clock binds first
        memory_mb=settings.BASELINE_MEMORY_MB,
        processes=max(settings.ALGORITHM_PROCESSES, PROCESSES),
        output_mb=OUTPUT_MB,
        tmp_mb=settings.ALGORITHM_TMP_MB,
        log_mb=settings.ALGORITHM_LOG_MB,
    )


def _num_cpus() -> int:
    return max(1, min(2, len(os.sched_getaffinity(0))))


def baseline_environment(run: BaselineRun) -> dict[str, str]:
    """The options ``main.py`` reads, and thread caps for the native libraries.

    ``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads sleep instead of spinning between parallel
    regions. On a shared host spinning threads wait for descheduled peers: measured here at
    load 5 on 2 cores, LightGBM took 12-28 s per model instead of 1-3 s."""
    cpus = str(_num_cpus())
    memory_gb = settings.BASELINE_MEMORY_MB * 1024 * 1024 * AG_MEMORY_SHARE / 1e9
    return {
        "BASELINE_TIME_LIMIT": str(run.time_limit),
        "BASELINE_PRESETS": run.presets,
        "BASELINE_NUM_CPUS": cpus,
        "BASELINE_MEMORY_LIMIT_GB": f"{memory_gb:.2f}",
        "BASELINE_MAX_TRAIN_ROWS": str(settings.BASELINE_MAX_TRAIN_ROWS),
        "BASELINE_PREDICT_BATCH_ROWS": str(settings.BASELINE_PREDICT_BATCH_ROWS),
        "PYTHONUNBUFFERED": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "OMP_NUM_THREADS": cpus,
        "OPENBLAS_NUM_THREADS": cpus,
        "MKL_NUM_THREADS": cpus,
        "LOKY_MAX_CPU_COUNT": cpus,
    }


def baseline_run_execute(
    *,
    run_pk: int,
    delivery_id: str | None = None,
    worker: str | None = None,
    backend: SandboxBackend | None = None,
) -> str:
    """Run baseline ``run_pk`` in the sandbox and record the outcome; return its status.

    Safe for any message, any number of times: only a ``queued`` run is claimed (under a
    row lock); see :mod:`scoring.baselines.services.execute` for a redelivered message.
    """
    token = delivery_id or uuid.uuid4().hex
    run = baseline_run_claim(run_pk=run_pk, token=token, delivery_id=delivery_id, worker=worker)
    if run is None:
        return "skipped"
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"baseline-{run.pk}-", dir=staging))
    out_dir = work / "output"
    started = time.monotonic()
    watch = BaselineRunWatch(run_pk=run.pk, token=token, log_path=out_dir / outputs.FIT_LOG)
    try:
        version = baseline_algorithm_version(challenge=run.task.track.challenge)
        unpack_version(version, work / "code")
        task_dir = task_folder_write(run.task, work / "task", on_chunk=watch.check)
        job = SandboxJob(
            code_dir=work / "code",
            entrypoint=version.entrypoint,
            task_dir=task_dir,
            output_dir=out_dir,
            limits=baseline_limits(run),
            environment=baseline_environment(run),
        )
        reserve = job.limits.memory_mb + job.limits.tmp_mb
        with memory_ledger().reserve(reserve, should_stop=watch.should_stop) as room:
            if not room:
                raise BaselineCancelled
            result = (backend or default_backend()).run(job, should_stop=watch.should_stop)
        watch.drain()
        outcome = _outcome(run, result, out_dir, version)
        return record_outcome(run=run, token=token, outcome=outcome, watch=watch, out_dir=out_dir)
    except BaselineCancelled:
        return finish(
            run=run,
            token=token,
            status=BaselineRunStatus.CANCELLED,
            message="cancelled before the runner started",
            elapsed=0.0,
        )
    except MemoryBudgetExceeded as exc:
        return finish(run=run, token=token, status=BaselineRunStatus.FAILED, message=str(exc))
    except SoftTimeLimitExceeded:
        # The sandbox has already killed its process group on the way out.
        return finish(
            run=run,
            token=token,
            status=BaselineRunStatus.TIMED_OUT,
            message=(
                f"stopped by the worker's soft time limit of {worker_soft_time_limit()} s"
                f" after {time.monotonic() - started:.0f} s"
            ),
            elapsed=round(time.monotonic() - started, 3),
            log_tail="\n".join(watch.lines),
        )
    except Exception as exc:
        logger.exception("baseline run %s: internal error", run.pk)
        return finish(
            run=run,
            token=token,
            status=BaselineRunStatus.FAILED,
            message=f"internal error: {type(exc).__name__}: {exc}"[:2000],
            log_tail="\n".join(watch.lines),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _outcome(
    run: BaselineRun, result: Any, out_dir: Path, version: AlgorithmVersion
) -> BaselineOutcome:
    """The sandbox's result as the baseline's outcome (statuses and messages as before)."""
    (out_dir / outputs.RUNNER_OUTPUT).write_text(result.log_tail, encoding="utf-8")
    report = outputs.read_json(out_dir / outputs.RESULT)
    predictions = None
    if result.cancelled:
        status, message = "cancelled", f"baseline cancelled after {result.seconds:.0f} s"
    elif result.limit_hit == "wall_seconds":
        status, message = "timed_out", f"baseline exceeded its hard timeout of {run.hard_timeout} s"
    elif not result.ok:
        status = "failed"
        message = str(report.get("error") or "") or result.message
        if result.limit_hit:
            message = result.message  # names the limit
    else:
        try:
            predictions = predictions_file(out_dir, settings.SUBMISSION_MAX_BYTES)
            status, message = "succeeded", "baseline finished"
        except RunFailed as exc:
            status, message = "failed", str(exc)

    def existing(name: str) -> Path | None:
        path = out_dir / name
        return path if path.is_file() and not path.is_symlink() else None

    return BaselineOutcome(
        status=status,
        message=message,
        elapsed=result.seconds,
        returncode=result.exit_code,
        pid=result.pid,
        predictions=predictions,
        leaderboard=existing(outputs.LEADERBOARD),
        log=existing(outputs.FIT_LOG),
        result=existing(outputs.RESULT),
        extra_result={
            "algorithm": {
                "id": version.algorithm_id,
                "name": version.algorithm.name,
                "version_id": version.pk,
                "version": version.number,
                "sha256": version.archive_sha256,
            },
            "sandbox": {"peak_memory_mb": result.peak_memory_mb, "cpu_seconds": result.cpu_seconds},
        },
    )
