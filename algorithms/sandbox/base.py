"""The runner interface: a job, its limits, its result, and the backend protocol."""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.units import mib

MB = 1024 * 1024  # the *_mb limits are MiB (common/units.py)
LOG_TAIL_BYTES = 64 * 1024

# The limits a run may hit, as named in its failure message.
LIMIT_NAMES = {
    "wall_seconds": "wall-clock limit",
    "cpu_seconds": "CPU-time limit",
    "memory_mb": "memory limit",
    "processes": "process limit",
    "output_mb": "output size limit",
    "tmp_mb": "/tmp size limit",  # noqa: S108 - a message, not a path
    "log_mb": "log size limit",
    "cpus": "CPU core limit",
}


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use, for its whole process tree. Stored on the run row next to what
    it did use. How each is enforced depends on the host (docs/operators/the-sandbox.md's table):
    with a memory cgroup, ``memory_mb`` bounds the resident memory of every process plus the tmpfs
    pages of ``/tmp``, ``/dev/shm`` and ``/output``; without one it is each process's address
    space."""

    wall_seconds: int = 900
    cpu_seconds: int = 1800  # CPU time of all the run's processes together
    memory_mb: int = 4096
    processes: int = 128  # processes and threads
    output_mb: int = 200  # everything under /output, in allocated blocks
    tmp_mb: int = 1024  # the /tmp tmpfs (and /dev/shm, another one of the same size)
    log_mb: int = 20  # stdout + stderr; the last 64 KB are kept
    cpus: int = 0  # cores the run may keep busy at once (a cgroup's CPU quota); 0: no cap

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def host_memory_mb(self, *, memory_cgroup: bool) -> int:
        """The most of the host's memory a run of these limits can hold, which the memory
        ledger reserves for it (:mod:`.ledger`). With a memory cgroup, ``memory_mb`` in all:
        the kernel charges the tmpfs pages to the writer's cgroup. Without one, ``memory_mb``
        caps each process's address space and the tmpfs mounts, kept in RAM, come on top:
        ``/tmp`` and ``/dev/shm`` (``tmp_mb`` each) and ``/output`` (``output_mb``)."""
        if memory_cgroup:
            return self.memory_mb
        return self.memory_mb + 2 * self.tmp_mb + self.output_mb

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxLimits:
        known = {k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def describe(self, name: str) -> str:
        """``the memory limit (4096 MiB)``: a limit named as a participant reads it."""
        value = getattr(self, name)
        if name.endswith("mb"):
            return f"the {LIMIT_NAMES[name]} ({mib(value)})"
        unit = " s" if name.endswith("seconds") else ""
        return f"the {LIMIT_NAMES[name]} ({value}{unit})"


@dataclass(frozen=True)
class SandboxJob:
    """One algorithm on one task: host folders the backend shows read-only or writable."""

    code_dir: Path  # the extracted archive, shown read-only at /code
    entrypoint: str  # relative to code_dir
    task_dir: Path  # what a participant may download, shown read-only at /task
    output_dir: Path  # empty, writable, shown at /output
    limits: SandboxLimits
    # Extra environment variables (the platform's own runs only, e.g. the baseline's
    # options); they never replace the sandbox's own (TASK_DIR, OUTPUT_DIR, PATH, HOME...).
    environment: dict[str, str] = field(default_factory=dict)
    # A file the platform hands its own run, shown read-only at ``/kept/model.tar`` (a
    # baseline stress run: its clean run's packed model, docs/organizers/stress.md).
    model_file: Path | None = None


@dataclass(frozen=True)
class SandboxResult:
    """How the run ended. ``ok`` means it exited 0 within every limit."""

    ok: bool
    exit_code: int | None
    limit_hit: str | None  # a SandboxLimits field name, or None
    message: str
    seconds: float
    cpu_seconds: float
    peak_memory_mb: float
    log_tail: str
    log_bytes: int
    cancelled: bool = False
    pid: int | None = None  # the sandbox's outer process (leader of its process group)
    # How each limit was enforced in this run, e.g. {"memory_mb": "cgroup v1", ...}, and
    # who the sandbox was on the host ("host_uid") and its seccomp filter ("seccomp").
    enforcement: dict[str, str] = field(default_factory=dict)


class SandboxUnavailable(Exception):
    """The backend cannot run jobs safely on this host (not the algorithm's fault)."""


class SandboxBackend(abc.ABC):
    """Runs a :class:`SandboxJob`; implementations must deny the network, show only the
    job's folders and the runtime, clear the environment and enforce every limit."""

    name: str = "abstract"

    def prepare(self) -> Any:
        """What a run's start needs that can be made before the run is known (a backend's
        own object, or None), made when the worker takes a run's message so that it is ready
        once the run is claimed and staged; given to :meth:`run`, or discarded
        (:func:`discard_prepared`) when no run follows."""
        return None

    def spare_key(self) -> Hashable | None:
        """What a start :meth:`prepare` made is good for: a worker process may keep one
        between runs (:mod:`.spare`) for a backend of the same key; None (the default):
        never kept."""
        return None

    @abc.abstractmethod
    def run(
        self,
        job: SandboxJob,
        *,
        should_stop: Callable[[], bool] | None = None,
        prepared: Any = None,
    ) -> SandboxResult:
        """Run to the end, a limit, or ``should_stop()`` returning True (polled ~1/s), from
        ``prepared`` (:meth:`prepare`'s, consumed) when given."""

    def memory_reservation_mb(self, limits: SandboxLimits) -> int:
        """What the host's memory ledger holds for a run of ``limits`` on this backend
        (:meth:`SandboxLimits.host_memory_mb`): the case without a memory cgroup, unless
        the backend knows its runs get one."""
        return limits.host_memory_mb(memory_cgroup=False)

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`SandboxUnavailable` when this host cannot run jobs."""


def discard_prepared(prepared: Any) -> None:
    """Let go of what :meth:`SandboxBackend.prepare` made (nothing, for None); safe to call
    after :meth:`SandboxBackend.run` consumed it."""
    if prepared is not None:
        prepared.discard()
