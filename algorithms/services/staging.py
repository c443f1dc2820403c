"""A run's working folder on the worker's disk, and the sweep of those a dead worker left.

Each run works in ``DATA_DIR/staging/algorithm-run-<run>-<pid>.<start>-<random>``: the
archive's code, the ``/task`` copy and ``/output`` (a tmpfs mounted there on a root worker).
The process that runs it removes it when the run ends, whatever happened. A worker killed
mid-run (SIGKILL, out of memory, a host reboot) cannot, and a task copy can be gigabytes:
one team's crashed runs would cost every team on the host its disk. So the folder names
its owner (the pid *and* that process's start time, so a reused pid is not mistaken for
the owner), and :func:`staging_sweep`, run when a worker starts and before each run,
detaches the output tmpfs of dead workers and removes every folder whose owner is gone.
Folders of another live worker on the same host are never touched.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from algorithms.sandbox import outputfs
from algorithms.sandbox.host import mounts, process_start

logger = logging.getLogger(__name__)

PREFIX = "algorithm-run-"
_OWNED = re.compile(rf"{PREFIX}\d+-(\d+)\.(\d+)-[A-Za-z0-9_]+")
# Folders of an older release name no owner: removed once older than any run may last.
_UNOWNED = re.compile(rf"{PREFIX}\d+-[A-Za-z0-9_]+")


def staging_root() -> Path:
    """``DATA_DIR/staging`` (created): the runs' working folders on this host."""
    root = Path(settings.DATA_DIR) / "staging"
    root.mkdir(parents=True, exist_ok=True)
    return root


def staging_folder_create(*, run_pk: int) -> Path:
    """A new, empty working folder for run ``run_pk``, named after this process."""
    pid = os.getpid()
    owner = f"{pid}.{process_start(pid) or 0}"
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{run_pk}-{owner}-", dir=staging_root()))


def staging_sweep() -> list[Path]:
    """Detach dead workers' output tmpfs mounts, then remove the working folders whose
    owner is gone; returns the folders removed. Never raises (it only cleans up)."""
    try:
        outputfs.detach_stale()
        root = staging_root()
        mounted = [m.point for m in mounts()]
        removed = []
        for entry in root.iterdir():
            if not entry.is_dir() or entry.is_symlink() or not _abandoned(entry):
                continue
            if any(point == entry or entry in point.parents for point in mounted):
                logger.warning("%s still has a mount inside; left for the next sweep", entry)
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    except OSError:
        logger.warning("the staging sweep failed", exc_info=True)
        return []
    if removed:
        logger.warning("removed %s run folder(s) of dead workers: %s", len(removed), removed)
    return removed


def staging_sweep_on_worker_start(**sent: Any) -> None:
    """Celery's ``worker_ready`` (connected by ``AlgorithmsConfig`` where the Celery app is
    made): a worker starting on a host removes the run folders (and output tmpfs mounts) that
    a worker killed mid-run left behind; folders of live workers on the same host are kept."""
    staging_sweep()


def _abandoned(folder: Path) -> bool:
    owned = _OWNED.fullmatch(folder.name)
    if owned is not None:
        pid, started = int(owned[1]), int(owned[2])
        return process_start(pid) != started
    if _UNOWNED.fullmatch(folder.name):
        longest = max(settings.ALGORITHM_HARD_TIME_LIMIT, settings.BASELINE_HARD_TIME_LIMIT)
        try:
            return time.time() - folder.stat().st_mtime > longest + 600
        except OSError:
            return False
    return False
