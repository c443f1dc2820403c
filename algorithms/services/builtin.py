"""The built-in AutoGluon baseline: its team, its algorithm version, and how it runs.

**Where its code lives.** The folder ``algorithms/builtin/autogluon`` of the repository is
the algorithm (``BASELINE_ALGORITHM_DIR`` points elsewhere, e.g. in the tests). When a
baseline run is queued, the folder is zipped deterministically (sorted names, fixed
timestamps, no ``__pycache__``) and its SHA-256 compared with the latest version of the
algorithm "AutoGluon baseline" of the challenge's baseline team: the same archive reuses
that version; a changed one (a deploy changed the code) becomes the next version, stored
and validated like an upload. So each challenge's baseline team has a real
``Algorithm``/``AlgorithmVersion`` (listed with the others, in the transfer matrix), and a
baseline run names the version it runs like any run.

**How it runs.** Through the one pipeline (:mod:`algorithms.services.execute`) under the
baseline profile (:mod:`algorithms.services.profiles`): its own limits (wall clock = the
run's hard timeout, memory ``BASELINE_MEMORY_MB``, an ``/output`` large enough for
AutoGluon's model folder, deleted by the runner at the end), and its options (safety limit,
presets, CPUs, train cap, batch size) reach ``main.py`` as ``BASELINE_*`` environment
variables, which only the platform sets (an uploaded archive cannot).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

import algorithms.builtin.autogluon as baseline_package
from algorithms.core import ArchiveInvalid, validate_archive
from algorithms.models import Algorithm, AlgorithmRun, AlgorithmVersion, archive_path_for
from algorithms.sandbox.base import SandboxLimits
from algorithms.services.common import archive_limits
from algorithms.services.run_budget import run_max_train_rows, run_without_models
from algorithms.services.upload import algorithm_get_or_create
from challenges.models import Challenge, Team
from common.files import delete_file_quietly
from kinds.registry import kind_names

logger = logging.getLogger(__name__)

BASELINE_TEAM_NAME = "AutoGluon baseline"
BASELINE_ALGORITHM_NAME = BASELINE_TEAM_NAME
TOP_LEVEL = ("algorithm.yaml", "main.py")  # at the archive's top; the rest in the package
PACKAGE = "autogluon_baseline"  # the package's name inside the archive (always this one)
KINDS_DIR = "kinds"  # the baseline's per-kind modules, named after the kinds they fit
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# AutoGluon's model folder is written under /output and deleted at the end.
OUTPUT_MB = 4096
PROCESSES = 512
MAX_CPUS = 2
# AutoGluon's own (soft) memory budget, as a share of the address-space limit: virtual
# memory always exceeds the resident memory AutoGluon accounts for.
AG_MEMORY_SHARE = 0.6
# Seconds the Celery task needs besides the sandbox: copying the task files in, storing the
# artifacts and the predictions. The run's hard timeout stays this far below the soft limit.
TASK_OVERHEAD_SECONDS = 90


class BuiltinUnavailable(Exception):
    """The baseline team or the built-in version cannot be made; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the baseline team ---------------------------------------------------------------------


def baseline_team_get_or_create(*, challenge: Challenge) -> Team:
    """The challenge's built-in baseline team (``is_baseline``), created when missing.

    The database allows one baseline team per challenge; a participant team that took the
    name first leaves the baseline team a suffixed name.
    """
    team = Team.objects.filter(challenge=challenge, is_baseline=True).first()
    if team is not None:
        return team
    for name in (BASELINE_TEAM_NAME, f"{BASELINE_TEAM_NAME} (built-in)"):
        try:
            with transaction.atomic():
                return Team.objects.create(challenge=challenge, name=name, is_baseline=True)
        except IntegrityError:
            team = Team.objects.filter(challenge=challenge, is_baseline=True).first()
            if team is not None:  # created concurrently
                return team
    raise BuiltinUnavailable(
        f"The challenge '{challenge.slug}' has teams named '{BASELINE_TEAM_NAME}' and"
        f" '{BASELINE_TEAM_NAME} (built-in)'; rename one so the baseline team can be created."
    )


# --- the built-in version ------------------------------------------------------------------


def baseline_source_dir() -> Path:
    configured = getattr(settings, "BASELINE_ALGORITHM_DIR", "")
    return Path(configured) if configured else Path(baseline_package.__file__).parent


def baseline_kinds() -> tuple[str, ...]:
    """The task kinds the baseline fits, in the platform's kind order: one module per kind
    in its ``kinds/`` folder (``kinds/<kind>.py``). The platform may not import the
    baseline's code; it reads the names of those files."""
    folder = baseline_source_dir() / KINDS_DIR
    names = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    return tuple(kind for kind in kind_names() if kind in names)


def baseline_archive(*, source: Path | None = None) -> bytes:
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
        logger.error("the built-in baseline archive is invalid: %s", exc)
        raise BuiltinUnavailable(f"The built-in baseline archive is invalid: {exc}") from exc
    storage = AlgorithmVersion._meta.get_field("archive").storage
    stored = storage.save(archive_path_for(team, f"baseline-{digest[:16]}.zip"), ContentFile(data))
    try:
        with transaction.atomic():
            Algorithm.objects.select_for_update().filter(pk=algorithm.pk).values_list("pk").get()
            latest = algorithm.versions.order_by("-number").first()
            if latest is not None and latest.archive_sha256 == digest:  # made concurrently
                delete_file_quietly(storage, stored)
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
        delete_file_quietly(storage, stored)
        raise
    logger.info("built-in baseline of %s: version %s", challenge.slug, version.number)
    return version


# --- the worker's limits ---------------------------------------------------------------------


def worker_hard_time_limit() -> int:
    """Celery's hard limit of ``run_baseline``: the pool process is killed at this point."""
    return int(settings.BASELINE_HARD_TIME_LIMIT)


def worker_soft_time_limit() -> int:
    """Celery's soft limit: the task gets ``SoftTimeLimitExceeded`` and kills the sandbox."""
    return worker_hard_time_limit() - 60


def max_hard_timeout() -> int:
    """The longest wall-clock budget a run's sandbox may get inside the soft limit."""
    return worker_soft_time_limit() - TASK_OVERHEAD_SECONDS


def default_hard_timeout(*, time_limit: int) -> int:
    """The sandbox's wall-clock budget for a safety limit: twice it plus two minutes, a
    backstop behind the runner's own limit (which fails the run with its reason), capped by
    the worker's limits."""
    return min(2 * time_limit + 120, max_hard_timeout())


# --- one run's sandbox ---------------------------------------------------------------------


def baseline_limits(*, options: Mapping[str, Any]) -> SandboxLimits:
    """The sandbox limits of a baseline run with ``options`` (``hard_timeout`` is its wall
    clock); stored on the run when it is queued, like any run's."""
    wall = int(options["hard_timeout"])
    return SandboxLimits(
        wall_seconds=wall,
        cpu_seconds=wall * MAX_CPUS + 60,  # the wall clock binds first
        memory_mb=settings.BASELINE_MEMORY_MB,
        processes=max(settings.ALGORITHM_PROCESSES, PROCESSES),
        output_mb=OUTPUT_MB,
        tmp_mb=settings.ALGORITHM_TMP_MB,
        log_mb=settings.ALGORITHM_LOG_MB,
    )


def _num_cpus() -> int:
    return max(1, min(MAX_CPUS, len(os.sched_getaffinity(0))))


def baseline_environment(*, run: AlgorithmRun) -> dict[str, str]:
    """The options ``main.py`` reads, and thread caps for the native libraries (on the
    worker, which knows its CPUs).

    ``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads sleep instead of spinning between parallel
    regions. On a shared host spinning threads wait for descheduled peers: measured here at
    load 5 on 2 cores, LightGBM took 12-28 s per model instead of 1-3 s."""
    cpus = str(_num_cpus())
    memory_mb = int((run.limits or {}).get("memory_mb") or settings.BASELINE_MEMORY_MB)
    memory_gb = memory_mb * 1024 * 1024 * AG_MEMORY_SHARE / 1e9
    options = run.options or {}
    return {
        "BASELINE_TIME_LIMIT": str(int(options.get("time_limit") or settings.BASELINE_TIME_LIMIT)),
        "BASELINE_PRESETS": str(options.get("presets") or settings.BASELINE_PRESETS),
        "BASELINE_NUM_CPUS": cpus,
        "BASELINE_MEMORY_LIMIT_GB": f"{memory_gb:.2f}",
        "BASELINE_MAX_TRAIN_ROWS": str(run_max_train_rows(options=options)),
        "BASELINE_WITHOUT_MODELS": run_without_models(options=options),
        "BASELINE_PREDICT_BATCH_ROWS": str(settings.BASELINE_PREDICT_BATCH_ROWS),
        "PYTHONUNBUFFERED": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "OMP_NUM_THREADS": cpus,
        "OPENBLAS_NUM_THREADS": cpus,
        "MKL_NUM_THREADS": cpus,
        "LOKY_MAX_CPU_COUNT": cpus,
    }
