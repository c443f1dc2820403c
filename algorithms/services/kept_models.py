"""A baseline's fitted model, kept on its worker's host for its stress run
(docs/organizers/stress.md, "The baseline's stress run").

A baseline's stress run fits the same model on the same rows as its clean run (the same
options, seed and limits: :mod:`.stress_queue`), then predicts perturbed copies of the test
rows; on the demo that second fit was two fifths of the time until every figure showed. So
the clean run of a task that gets stress runs is asked to pack its best model
(``BASELINE_PACK_MODEL``: ``/output/model.tar``, with the inputs it was fitted on); the
worker moves that file, unread, to ``DATA_DIR/kept-models/run-<clean run>.tar``; the stress
run, claimed on the same host, is shown it read-only at ``/kept/model.tar``
(``BASELINE_MODEL_FROM``). The runner, inside the sandbox, loads it only when the inputs it
records are the stress run's own, byte for byte, and fits as before otherwise
(``algorithms/builtin/autogluon/kept.py``): the handover saves time and never changes a
figure. A stress run claimed on another host (or after a sweep) fits its own.

The file is removed once the stress run has ended, and any kept file older than
:data:`KEEP_SECONDS` (a clean run whose stress run never came, a newer baseline) by the sweep
before each run. Nothing here reads the file: the platform only moves and deletes it.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

from django.conf import settings

from algorithms.models import AlgorithmRun
from algorithms.sandbox.command import SANDBOX_MODEL_FILE
from algorithms.services.profiles import RunProfile
from algorithms.services.stress_queue import stress_refused

logger = logging.getLogger(__name__)

PACKED = "model.tar"  # what the runner writes in /output (autogluon/kept.py's MODEL_TAR)
KEEP_SECONDS = 24 * 3600


def kept_root() -> Path:
    """``DATA_DIR/kept-models`` (created): the packed models kept on this host."""
    root = Path(settings.DATA_DIR) / "kept-models"
    root.mkdir(parents=True, exist_ok=True)
    return root


def kept_model_path(*, run_pk: int) -> Path:
    """Where the packed model of the clean run ``run_pk`` is kept on this host."""
    return kept_root() / f"run-{int(run_pk)}.tar"


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def model_handover(*, run: AlgorithmRun, profile: RunProfile) -> tuple[dict[str, str], Path | None]:
    """The environment and the file ``run`` is given: a clean baseline run of a task that
    gets stress runs is asked to pack its model; a baseline stress run is shown its clean
    run's, when this host kept it."""
    if profile.hands_model == "pack" and stress_refused(task=run.task) is None:
        return {"BASELINE_PACK_MODEL": "1"}, None
    if profile.hands_model == "load" and run.stress_of_id is not None:
        path = kept_model_path(run_pk=run.stress_of_id)
        if _regular_file(path):
            return {"BASELINE_MODEL_FROM": SANDBOX_MODEL_FILE}, path
    return {}, None


def kept_model_keep(*, run: AlgorithmRun, output: Path) -> Path | None:
    """Move the run's packed model out of its output folder (a regular file only, never
    through a link) to where its stress run finds it; None when there is none. Never
    raises: a model not kept only costs the stress run its fit."""
    packed = output / PACKED
    if not _regular_file(packed):
        return None
    target = kept_model_path(run_pk=run.pk)
    try:
        os.replace(packed, target)
    except OSError as exc:
        logger.warning("run %s: its packed model was not kept (%s)", run.pk, exc)
        return None
    return target


def kept_model_drop(*, run_pk: int | None) -> None:
    """Forget the clean run ``run_pk``'s kept model (its stress run has ended)."""
    if run_pk is not None:
        kept_model_path(run_pk=run_pk).unlink(missing_ok=True)


def kept_models_sweep(*, now: float | None = None) -> list[Path]:
    """Remove the kept models older than :data:`KEEP_SECONDS`; returns them. Never raises."""
    now = time.time() if now is None else now
    removed = []
    try:
        for entry in os.scandir(kept_root()):
            info = entry.stat(follow_symlinks=False)
            if now - info.st_mtime > KEEP_SECONDS:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    except OSError:
        logger.warning("the kept models' sweep failed", exc_info=True)
    return removed
