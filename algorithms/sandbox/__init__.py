"""Run an algorithm on a task, contained: one interface, swappable backends (STYLE: Jobs).

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


def default_backend() -> SandboxBackend:
    return BubblewrapBackend()
