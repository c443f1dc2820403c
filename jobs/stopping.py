"""A worker asked to stop is not a crash: the jobs it held go back to the queue with the
attempt they used (docs/architecture.md, "A stop is not a failure";
docs/decisions/0047-every-job-settles-and-a-stop-is-not-a-failure.md).

The platform stops its workers with SIGTERM: ``manage.py runplatform`` (honcho) sends it to
each process group, so the worker's main process *and* its pool processes get it at once; a
container stop (``docker/entrypoint.sh`` execs the worker as the container's first process)
sends it to the main process alone. Celery's default then killed a pool process in the
middle of its job (the pool process resets SIGTERM to its default), printed a
``WorkerLostError`` traceback, and the job was later taken back as from a crashed worker: a
baseline, which has one attempt, failed for good.

Here, for every job type:

- **A pool process** handles SIGTERM itself while it runs a task (``task_prerun`` to
  ``task_postrun``): it only records the request (:func:`stop_requested`), and the task
  decides how to stop (an algorithm run kills its sandbox's process group and gives the run
  back, :mod:`algorithms.services.outcome`; a short job just ends); then the process waits
  for its main process's warm shutdown like any idle one. An idle pool process keeps
  billiard's handler, which ends it quietly.
- **The main process** (``worker_shutting_down``, warm or cold) marks every claim of its
  worker as stopping (``JobClaim.stopping_at``) in a thread of its own (not in the signal
  handler's frame), so that a pool process that got no signal of its own (a container stop)
  learns it from the database (:func:`stop_marked`), and so that whatever the worker still
  holds when it is gone (killed before its jobs ended: honcho's SIGKILL 5 s later, docker's
  after its grace period) is taken back with the attempt given back
  (:func:`jobs.sweeps.jobs_sweep`, :func:`jobs.lifecycle.job_claim`), not as a crash.

A crash (SIGKILL, the kernel's OOM killer, a lost host) marks nothing: its jobs keep the
liveness rules (each type decides on its attempts). A job that ends normally while its worker
stops (a short scoring) just ends.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.db import connections
from django.utils import timezone

from jobs import holders
from jobs.liveness import current_holder

logger = logging.getLogger(__name__)

_requested = threading.Event()
_busy = threading.Event()  # a pool process runs a task now


def stop_requested() -> bool:
    """Whether this process's worker was asked to stop (cheap: a flag)."""
    return _requested.is_set()


def stop_marked() -> bool:
    """Whether this process's worker is stopping: asked here, or marked so by its main
    process on one of its claims (one query; a process outside a worker: never)."""
    if _requested.is_set():
        return True
    holder = current_holder()
    if holder and holders.holder_stopping(holder=holder):
        _requested.set()
    return _requested.is_set()


_previous: list[Any] = []  # billiard's SIGTERM handler, put back when a task ends


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """A pool process's SIGTERM while it runs a task: the task winds down (see the module)."""
    _requested.set()
    if not _busy.is_set() and _previous and callable(_previous[0]):
        _previous[0](signum, frame)  # between two tasks after all: billiard's own exit


def on_task_prerun(**kwargs: Any) -> None:
    """``task_prerun`` (in the pool process): while the task runs, SIGTERM is a request to
    stop it, not the end of the process (billiard's handler, put back after it, ends an idle
    pool process quietly, as before)."""
    _busy.set()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    if previous is not _on_sigterm:
        _previous[:] = [previous]


def on_task_postrun(**kwargs: Any) -> None:
    _busy.clear()
    if _previous:
        signal.signal(signal.SIGTERM, _previous[0])


def on_worker_shutting_down(**kwargs: Any) -> None:
    """``worker_shutting_down`` (the main process, in its signal handler): mark this worker's
    claims as stopping, from a thread (a database call must not run inside the frame the
    signal interrupted)."""
    _requested.set()
    holder = current_holder()
    if holder:
        threading.Thread(
            target=_mark, args=(holder,), name="worker-stopping", daemon=False
        ).start()


def _mark(holder: str) -> None:
    try:
        marked = holders.claims_stopping(holder=holder, now=timezone.now())
        if marked:
            logger.info("worker %s is stopping: %s job(s) it holds go back to the queue", holder,
                        marked)  # fmt: skip
    except Exception:  # the database away: its jobs are then taken back as from a crash
        logger.warning("worker %s could not mark its jobs as stopping", holder, exc_info=True)
    finally:
        connections.close_all()  # this thread's own connections
