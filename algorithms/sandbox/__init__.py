"""Run an algorithm on a task, contained: one interface, swappable backends
(docs/architecture.md, House style: Jobs).

No Django here, so the bench and the tests drive it directly. The only backend so far is
:class:`~algorithms.sandbox.bubblewrap.BubblewrapBackend`; a container backend implements
the same :class:`SandboxBackend` and the callers do not change.
"""

from types import ModuleType

from algorithms.sandbox.base import (
    LIMIT_NAMES,
    SandboxBackend,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)
from common.lazy import lazy_exports

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


def _backend_module() -> tuple[ModuleType, ...]:
    """``BubblewrapBackend``'s module, imported on its first read (``common.lazy``): the run
    profiles, which every process reads at start, need the limits' type only, not the
    backend (its seccomp filter and cgroups)."""
    from algorithms.sandbox import bubblewrap

    return (bubblewrap,)


__getattr__ = lazy_exports(__name__, ["BubblewrapBackend"], _backend_module)
