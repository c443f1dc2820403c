"""A Celery worker's part in the lifecycle: it names itself, beats, takes back what a dead
worker held (docs/architecture.md, "The job lifecycle"), and stops without failing the jobs it
held (:mod:`jobs.stopping`).

The top of the jobs app: it ties the liveness watch (:mod:`jobs.liveness`, which knows
Redis and nothing of jobs) to the lifecycle's sweep of a dead holder's jobs
(:func:`jobs.sweeps.jobs_sweep_lost`) and to the claims table (:mod:`jobs.holders`).
Its signal receivers are connected when the jobs app is ready (:mod:`jobs.apps`), which in
a worker is before ``worker_init`` (Celery's Django fix-up sets Django up while the worker
loads its task modules).
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import signals
from django.db import connections

from jobs import holders, liveness, republish, stopping, sweeps

logger = logging.getLogger("jobs.liveness")

_watch: liveness.Liveness | None = None


# The pool's processes are forked from the main process while its liveness threads run (at
# start, and whenever a pool process is replaced). CPython frees the other threads' locals in
# a forked child, so an SQLite connection one of them held open at that moment would be
# closed by the child, whose locks and WAL index are the parent's: a scoring worker forked
# during the start-up republish read a stale database and was refused every write ("database
# is locked", then "disk I/O error") on the embedded default. So the main process's database
# work holds this lock with its connections open (``_main_process_database``), and a fork
# waits for it (registered in ``_on_worker_init``).
_no_fork = threading.Lock()
_fork_guarded = False


def _guard_forks() -> None:
    global _fork_guarded
    if not _fork_guarded:
        os.register_at_fork(
            before=_no_fork.acquire,
            after_in_parent=_no_fork.release,
            after_in_child=_no_fork.release,
        )
        _fork_guarded = True


@contextmanager
def _main_process_database() -> Iterator[None]:
    """Database work of the main process (a liveness thread's): no fork while it runs, and
    this thread's connections closed at its end, so none is kept for a later fork to meet."""
    with _no_fork:
        try:
            yield
        finally:
            connections.close_all()  # this thread's connections only


def sweep_lost(holder: str, reason: str) -> tuple[list[int], list[int]]:
    """Take back ``holder``'s jobs (the liveness thread's call)."""
    with _main_process_database():
        report = sweeps.jobs_sweep_lost(holder=holder, reason=reason)
    return report.requeued, report.failed


def republish_all(reason: str) -> None:
    """Publish again every queued job with no message on the broker, whatever its age (the
    broker restarted: :mod:`jobs.liveness`); its own thread."""
    with _main_process_database():
        try:
            published = republish.jobs_republish(fresh=True)
            count = sum(len(pks) for pks in published.values())
            # Nothing was queued (a new install's first start): a line, not a warning.
            logger.log(
                logging.WARNING if count else logging.INFO,
                "after %s: %s job(s) published again", reason, count,
            )  # fmt: skip
        except Exception:  # the database away: the beat's republish is the fallback
            logger.warning(
                "could not publish the queued jobs again after %s", reason, exc_info=True
            )


def claim_holders() -> list[str]:
    """Every holder the claims table names (the liveness thread's call)."""
    with _main_process_database():
        return holders.claim_holders()


def _on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    """Main process, before the pool forks: name this worker and beat once, so a job it
    claims always has a holder others can watch."""
    global _watch
    _guard_forks()
    holder = liveness.name_this_worker(node=sender.hostname)
    beat, lost_after = liveness.beat_settings()
    _watch = liveness.Liveness(
        holder=holder,
        client=liveness.broker_redis(),
        beat_seconds=beat,
        lost_after=lost_after,
        sweep=sweep_lost,
        holders_of_claims=claim_holders,
        queues=_consumed_queues(sender),
        broker_reset=republish_all,
    )
    _watch.beat()
    logger.info("worker %s beats every %.1f s (lost after %.0f s)", holder, beat, lost_after)


def _consumed_queues(worker: Any) -> tuple[str, ...]:
    """The queues a worker consumes (its ``-Q``), as Celery selected them before this signal."""
    try:
        return tuple(sorted(worker.app.amqp.queues.consume_from))
    except AttributeError:
        return ()


def _on_worker_ready(**kwargs: Any) -> None:
    if _watch is not None:
        threading.Thread(target=_watch.run, name="worker-liveness", daemon=True).start()


def _on_worker_shutdown(**kwargs: Any) -> None:
    if _watch is not None:
        _watch.stop()


# ``kill -USR2 <pid>`` of a worker's process (its main process or a pool process) writes the
# Python stack of each of its threads to the worker's log (its real stderr: Celery's
# redirected one has no file). Where a job waits without a log line, this says where.
# Celery's own signals are SIGUSR1 (the main process's dump; a pool process's soft time
# limit) and SIGTERM/SIGQUIT/SIGINT (stops).
STACKS_SIGNAL = signal.SIGUSR2


def _stacks_on_signal(**kwargs: Any) -> None:
    """Celery's ``worker_init`` (the main process) and ``worker_process_init`` (each pool
    process): :data:`STACKS_SIGNAL` dumps this process's threads."""
    if sys.__stderr__ is not None:
        faulthandler.register(STACKS_SIGNAL, file=sys.__stderr__, all_threads=True)


def connect_signals() -> None:
    """Connect the receivers above, and a stop's (:mod:`jobs.stopping`): idempotent (Celery
    keeps one per receiver)."""
    signals.worker_init.connect(_on_worker_init, weak=False)
    signals.worker_init.connect(_stacks_on_signal, weak=False)
    signals.worker_process_init.connect(_stacks_on_signal, weak=False)
    signals.worker_ready.connect(_on_worker_ready, weak=False)
    signals.worker_shutdown.connect(_on_worker_shutdown, weak=False)
    signals.worker_shutting_down.connect(stopping.on_worker_shutting_down, weak=False)
    signals.task_prerun.connect(stopping.on_task_prerun, weak=False)
    signals.task_postrun.connect(stopping.on_task_postrun, weak=False)
