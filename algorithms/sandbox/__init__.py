"""Run an algorithm on a task, contained: one interface, swappable backends (docs/architecture.md,
House style: Jobs).

No Django here, so the bench and the tests drive it directly. The only backend so far is
:class:`~algorithms.sandbox.bubblewrap.BubblewrapBackend`; a container backend implements
the same :class:`SandboxBackend` and the callers do not change.
"""

from typing import Any

from algorithms.sandbox.base import (
    LIMIT_NAMES,
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)

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
    from algorithms.sandbox.bubblewrap import BubblewrapBackend

    return BubblewrapBackend(sandbox_uid=sandbox_uid)


def __getattr__(name: str) -> Any:
    """``BubblewrapBackend`` on first use (PEP 562): the run profiles, which every process
    reads at start, need the limits' type only, not the backend (its seccomp filter and
    cgroups)."""
    if name == "BubblewrapBackend":
        from algorithms.sandbox.bubblewrap import BubblewrapBackend

        return BubblewrapBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
