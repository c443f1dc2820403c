"""How a run ended, in words: which limit it hit (when nothing stopped it on the spot), the
message a participant reads, and how each limit was enforced on its path. Pure functions of
what the backend observed."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from algorithms.sandbox.base import SandboxLimits
from algorithms.sandbox.cgroups import CPU, CPUACCT, MEMORY, PIDS, RunCgroup
from algorithms.sandbox.hostuser import HostUser

MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
PROCESS_SIGNS = ("Resource temporarily unavailable", "can't start new thread")
FSIZE_SIGNS = ("File too large",)
NOSPACE_SIGNS = ("No space left on device",)


@dataclass(frozen=True)
class Observed:
    """What the backend saw once the sandbox was gone."""

    code: int  # the program's exit status: n, or 128 + n / -n for signal n
    cpu: float  # CPU seconds of the whole tree
    log: str
    output_bytes: int  # what /output held (sizes and blocks) when the run ended
    oom_killed: bool = False  # the memory cgroup killed a process
    processes_hit: bool = False  # the pids cgroup refused a fork


def infer_limit(limits: SandboxLimits, seen: Observed) -> str | None:
    """The limit a run that ended by itself ran into, if its end says so."""
    if seen.oom_killed:
        return "memory_mb"
    if seen.processes_hit:
        return "processes"
    code = seen.code
    if code == 0:
        return None
    tail = seen.log[-4096:]
    if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU) or (
        code in (-signal.SIGKILL, 128 + signal.SIGKILL) and seen.cpu >= limits.cpu_seconds - 1
    ):
        return "cpu_seconds"
    if any(sign in tail for sign in PROCESS_SIGNS):
        return "processes"
    if any(sign in tail for sign in MEMORY_SIGNS):
        return "memory_mb"
    full = code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or any(
        sign in tail for sign in FSIZE_SIGNS + NOSPACE_SIGNS
    )
    if full:
        near_cap = seen.output_bytes >= limits.output_mb * 1024 * 1024 * 0.9
        return "output_mb" if near_cap else "tmp_mb"
    return None


def message(
    limits: SandboxLimits,
    *,
    code: int,
    hit: str | None,
    cancelled: bool,
    log: str,
    detail: str = "",
) -> str:
    """What a participant reads; ``detail`` says how a limit was hit when its name alone
    would not (e.g. the output limit by a flood of files)."""
    if cancelled:
        return "cancelled"
    if hit is not None:
        return f"stopped: the algorithm hit {limits.describe(hit)}" + (
            f": {detail}" if detail else ""
        )
    if code == 0:
        return "finished"
    if code < 0 or code > 128:
        number = -code if code < 0 else code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the algorithm was killed by {name}"
    last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
    return f"the algorithm exited with code {code}" + (f": {last[:300]}" if last else "")


def enforcement(
    limits: SandboxLimits, cgroup: RunCgroup | None, user: HostUser | None = None
) -> dict[str, str]:
    """How each limit is enforced on this path (docs/operators/the-sandbox.md's table, per run)."""
    covered = cgroup.controllers if cgroup is not None else set()
    via = f"cgroup v{cgroup.host.version}" if cgroup is not None else ""
    return {
        "memory_mb": (
            f"{via} memory: resident memory + /tmp, /dev/shm, /output pages of the tree"
            if MEMORY in covered
            else "RLIMIT_AS per process (address space); /tmp, /dev/shm, /output capped apart"
        ),
        "processes": f"{via} pids" if PIDS in covered else "RLIMIT_NPROC (the worker's uid)",
        "cpu_seconds": (
            f"{via} CPU time of the tree"
            if CPUACCT in covered
            else "RLIMIT_CPU per process + the sampled sum over the tree"
        ),
        "cpus": (
            f"{via} CPU quota"
            if CPU in covered
            else ("not set" if limits.cpus <= 0 else "not enforced (no cpu controller)")
        ),
        "output_mb": "a tmpfs of its own (blocks, fallocate included); files and folders counted",
        "tmp_mb": "tmpfs /tmp and /dev/shm with size=",
        "wall_seconds": "watcher, kills the process group and cgroup",
        "log_mb": "pipe reader",
        "host_uid": (
            f"the worker's own (uid {os.geteuid()})" if user is None else f"uid {user.uid}"
        ),
        "seccomp": "libseccomp filter",
    }
