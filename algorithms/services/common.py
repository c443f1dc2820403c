"""What the algorithm services share: the refusal, the limits, the memory ledger."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from algorithms.core import ArchiveLimits
from algorithms.sandbox.base import SandboxLimits
from algorithms.sandbox.host import host_memory_mb
from algorithms.sandbox.ledger import MemoryLedger
from common.refusals import Refusal


class AlgorithmRefused(Refusal):
    """A request about algorithms refused before anything changed; ``message`` is for the
    user."""


def sandbox_limits() -> SandboxLimits:
    """The limits of a team's or an organizer's new run, from the ``ALGORITHM_*`` settings."""
    return SandboxLimits(
        wall_seconds=settings.ALGORITHM_WALL_SECONDS,
        cpu_seconds=settings.ALGORITHM_CPU_SECONDS,
        memory_mb=settings.ALGORITHM_MEMORY_MB,
        processes=settings.ALGORITHM_PROCESSES,
        cpus=settings.ALGORITHM_CPUS,
        output_mb=settings.ALGORITHM_OUTPUT_MB,
        tmp_mb=settings.ALGORITHM_TMP_MB,
        log_mb=settings.ALGORITHM_LOG_MB,
    )


def archive_limits() -> ArchiveLimits:
    maximum = settings.ALGORITHM_MAX_ARCHIVE_BYTES
    return ArchiveLimits(max_archive_bytes=maximum, max_total_bytes=max(maximum * 3, 1))


# What ``auto`` leaves the worker processes themselves (and the output reader) on the host.
WORKER_RESERVE_MB = 1024


def memory_ledger() -> MemoryLedger:
    """The host's memory budget for all sandboxed runs (``ALGORITHM_TOTAL_MEMORY_MB``): a
    number of MB (0: none), or ``auto`` (the default): the host's memory
    (:func:`~algorithms.sandbox.host.host_memory_mb`) less :data:`WORKER_RESERVE_MB`, so the
    runs of every worker on the host (two algorithm runs and a baseline at once) never
    promise more than it has; a single run asking for more than that runs alone."""
    folder = settings.ALGORITHM_MEMORY_LEDGER_DIR or Path(settings.DATA_DIR) / "staging" / "memory"
    setting = str(settings.ALGORITHM_TOTAL_MEMORY_MB).strip().lower()
    if setting == "auto":
        total = max(host_memory_mb() - WORKER_RESERVE_MB, 256)
        return MemoryLedger(Path(folder), total, oversize_alone=True)
    return MemoryLedger(Path(folder), int(setting or 0))
