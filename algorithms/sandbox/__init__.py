"""Run an algorithm on a task, contained: one interface, swappable backends (docs/architecture.md,
House style: Jobs).

No Django here, so the bench and the tests drive it directly. The only backend so far is
:class:`~algorithms.sandbox.bubblewrap.BubblewrapBackend`; a container backend implements
the same :class:`SandboxBackend` and the callers do not change.
"""

from algorithms.sandbox.base import (
    LIMIT_NAMES,
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)
from algorithms.sandbox.bubblewrap import BubblewrapBackend

__all__ = [
    "LIMIT_NAMES",
    "BubblewrapBackend",
    "SandboxBackend",
    "SandboxJob",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "default_backend",
]


def default_backend(*, sandbox_uid: int | None = None) -> SandboxBackend:
    """The backend runs use; ``sandbox_uid``: the host uid a root worker's sandboxes run as
    (``ALGORITHM_SANDBOX_UID``; default nobody)."""
    return BubblewrapBackend(sandbox_uid=sandbox_uid)
