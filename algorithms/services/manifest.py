"""Run manifests: what went into a run and what it used, recorded by the pipeline
(docs/architecture.md §12).

A run's inputs are its version's archive (``archive_sha256``), the runtime the sandbox
runs it with (``runtime_lock_sha256``: the sha256 of ``ALGORITHM_RUNTIME_LOCK``, by default
the repository's ``requirements.lock``, which pins every package of the runtime), the task's
data (``task_data_version``, and ``task_data_sha256`` over the files of the ``/task``
folder the algorithm saw, ``task.json`` without the seed included), the ``seed`` (queued with
the run, given to the algorithm as ``SEED`` and as ``task.json``'s ``seed``) and its limits.
What it used (``cpu_seconds``, ``peak_memory_mb``, ``wall_seconds``) is added when it ends.

A run whose profile allows it (``RunProfile.reuse``: the benchmark's re-runs) and whose
inputs equal those of a finished, succeeded run of the same task scored for the transfer
matrix takes that run's result instead of running (:func:`reusable_run`); its manifest is
the original's with ``reused_from``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.core.cache import cache

from algorithms.models import (
    BENCHMARK_PROFILE,
    ORGANIZER_PROFILE,
    STRESS_PROFILES,
    AlgorithmRun,
    AlgorithmRunStatus,
)
from algorithms.services.taskfolder import run_task, test_row_group_rows
from datasets.models import Task

CHUNK = 1024 * 1024
TASK_JSON = "task.json"
TASK_DIGEST_SECONDS = 30 * 24 * 3600
MANIFEST_KEYS = (
    "archive_sha256",
    "runtime_lock_sha256",
    "task_data_version",
    "task_data_sha256",
    "seed",
    "cpu_seconds",
    "peak_memory_mb",
    "wall_seconds",
)
# Runs whose result (scores and aligned predictions on the run) another run may take. A
# stress run takes only a stress run's (its /task differs from the clean one's anyway).
REUSABLE_PROFILES = (ORGANIZER_PROFILE, BENCHMARK_PROFILE)


def runtime_lock_sha256() -> str:
    """The sha256 of the runtime's lock file ("" when there is none to read)."""
    path = Path(str(settings.ALGORITHM_RUNTIME_LOCK or ""))
    try:
        stat = path.stat()
    except OSError:
        return ""
    return _file_sha256(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def task_folder_sha256(*, folder: Path) -> str:
    """One sha256 over every regular file of a ``/task`` folder: relative path and contents,
    in sorted order (``task.json`` as written, before the seed is added)."""
    digest = hashlib.sha256()
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    for relative in files:
        digest.update(relative.encode("utf-8") + b"\0")
        with open(folder / relative, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def task_data_sha256(*, task: Task, folder: Path) -> str:
    """:func:`task_folder_sha256` of a run's ``/task`` folder, read once per task data: the
    folder is made from the task's stored files, which never change (a new data version is
    new files), by rules that depend only on the row-group setting and the Arrow writer,
    and from its ``task.json``. Those, the task and its data version are the cache key, so
    a run after the first on the same data costs a hash of ``task.json``, not of the task's
    gigabytes."""
    meta = hashlib.sha256((folder / TASK_JSON).read_bytes()).hexdigest()
    stored = [getattr(task, name).name for name in ("train_parquet", "test_parquet", "images_zip")]
    inputs = [task.pk, task.data_version, stored, test_row_group_rows(), pa.__version__, meta]
    key = "task-folder-sha256:v1:" + hashlib.sha256(json.dumps(inputs).encode()).hexdigest()
    digest = cache.get(key)
    if not isinstance(digest, str):
        digest = task_folder_sha256(folder=folder)
        cache.set(key, digest, TASK_DIGEST_SECONDS)
    return digest


def manifest_inputs(*, run: AlgorithmRun, task_dir: Path) -> dict[str, Any]:
    """The run's inputs for its manifest, read from the ``/task`` folder just written; then
    the seed is added to that folder's ``task.json``."""
    inputs = {
        "archive_sha256": run.version.archive_sha256,
        "runtime_lock_sha256": runtime_lock_sha256(),
        "task_data_version": run_task(run=run).data_version,
        "task_data_sha256": task_data_sha256(task=run_task(run=run), folder=task_dir),
        "seed": run.seed,
    }
    meta_path = task_dir / TASK_JSON
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["seed"] = run.seed
    meta_path.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return inputs


def manifest_of(*, run: AlgorithmRun) -> dict[str, Any]:
    """The manifest as the API and the run page show it: every key, null until known (a
    reused run adds ``reused_from``, a reproduction ``reproduction``: where it ran)."""
    stored = run.manifest or {}
    manifest = {key: stored.get(key) for key in MANIFEST_KEYS}
    if manifest["seed"] is None:
        manifest["seed"] = run.seed
    if manifest["archive_sha256"] is None:
        manifest["archive_sha256"] = run.version.archive_sha256
    for extra in ("reused_from", "reproduction"):
        if stored.get(extra):
            manifest[extra] = stored[extra]
    return manifest


# Where a reproduction ran, next to the run it repeats (``reproduction_placement``).
ANOTHER_HOST = "another_host"
ANOTHER_WORKER = "another_worker"  # another worker node on the same host
SAME_WORKER = "same_worker"  # the worker node that ran the original (it was alone, or waited)


def reproduction_placement(*, original_worker: str, worker: str) -> dict[str, str]:
    """What a reproduction's manifest says of where it ran: both workers' node names
    (Celery's ``name@host``) and ``placement``: :data:`ANOTHER_HOST`,
    :data:`ANOTHER_WORKER` (same host) or :data:`SAME_WORKER`. An agreement measured on the
    same worker shows the run repeats; only another host shows it does not depend on one."""
    if worker == original_worker:
        placement = SAME_WORKER
    elif _host(worker) != _host(original_worker):
        placement = ANOTHER_HOST
    else:
        placement = ANOTHER_WORKER
    return {"worker": worker, "original_worker": original_worker, "placement": placement}


def _host(node: str) -> str:
    return node.rpartition("@")[2]


def with_use(*, inputs: dict[str, Any], cpu: Any, peak: Any, wall: Any) -> dict[str, Any]:
    """The manifest once the sandbox has ended: the inputs and what it used."""
    return {**inputs, "cpu_seconds": cpu, "peak_memory_mb": peak, "wall_seconds": wall}


def reusable_run(*, run: AlgorithmRun, inputs: dict[str, Any]) -> AlgorithmRun | None:
    """A finished, succeeded run of the same task whose inputs equal ``inputs`` and the run's
    limits, with its result on the run (scores and stored predictions); the original when
    the match itself reused one."""
    if not inputs.get("runtime_lock_sha256"):
        return None  # the runtime is unknown: nothing can be said equal
    candidates = (
        AlgorithmRun.objects.filter(
            task_id=run.task_id,
            profile__in=STRESS_PROFILES if run.profile in STRESS_PROFILES else REUSABLE_PROFILES,
            status=AlgorithmRunStatus.SUCCEEDED,
            version__archive_sha256=inputs["archive_sha256"],
            seed=run.seed,
            manifest__task_data_sha256=inputs["task_data_sha256"],
            manifest__runtime_lock_sha256=inputs["runtime_lock_sha256"],
        )
        .exclude(pk=run.pk)
        .exclude(predictions="")
        .order_by("-finished_at", "-pk")
    )
    for candidate in candidates[:20]:
        if candidate.limits == run.limits:
            return candidate.reused_from or candidate
    return None


def reproduced_of(*, run: AlgorithmRun) -> dict[str, Any] | None:
    """``{"run", "agreement"}`` of the run's finished reproduction, or None."""
    return reproductions_of(run_pks=[run.pk]).get(run.pk)


def reproductions_of(*, run_pks: list[int]) -> dict[int, dict[str, Any]]:
    """Run id -> ``{"run", "agreement", "placement"}`` of its finished reproduction (one
    query); ``placement`` says where it ran (:func:`reproduction_placement`; null for a
    reproduction that recorded none)."""
    found = AlgorithmRun.objects.filter(
        reproduces_id__in=run_pks, status=AlgorithmRunStatus.SUCCEEDED
    ).values_list("reproduces_id", "pk", "agreement", "manifest")
    return {
        original: {
            "run": pk,
            "agreement": agreement,
            "placement": ((manifest or {}).get("reproduction") or {}).get("placement"),
        }
        for original, pk, agreement, manifest in found
    }
