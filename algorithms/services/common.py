"""What the algorithm services share: the refusal, the limits, the memory ledger."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from algorithms.core import ArchiveLimits
from algorithms.sandbox import SandboxLimits
from algorithms.sandbox.ledger import MemoryLedger


class AlgorithmRefused(Exception):
    """A request refused before anything changed; ``message`` is for the user."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def sandbox_limits() -> SandboxLimits:
    """The limits of a team's or an organizer's new run, from the ``ALGORITHM_*`` settings."""
    return SandboxLimits(
        wall_seconds=settings.ALGORITHM_WALL_SECONDS,
        cpu_seconds=settings.ALGORITHM_CPU_SECONDS,
        memory_mb=settings.ALGORITHM_MEMORY_MB,
        processes=settings.ALGORITHM_PROCESSES,
        output_mb=settings.ALGORITHM_OUTPUT_MB,
        tmp_mb=settings.ALGORITHM_TMP_MB,
        log_mb=settings.ALGORITHM_LOG_MB,
    )


def archive_limits() -> ArchiveLimits:
    maximum = settings.ALGORITHM_MAX_ARCHIVE_BYTES
    return ArchiveLimits(max_archive_bytes=maximum, max_total_bytes=max(maximum * 3, 1))


def memory_ledger() -> MemoryLedger:
    """The host's memory budget for all sandboxed runs (``ALGORITHM_TOTAL_MEMORY_MB``)."""
    folder = settings.ALGORITHM_MEMORY_LEDGER_DIR or Path(settings.DATA_DIR) / "staging" / "memory"
    return MemoryLedger(Path(folder), settings.ALGORITHM_TOTAL_MEMORY_MB)
