"""What a run may leave on the host: cgroups, mounts, tmpfs memory. Tests compare these
before and after hostile runs."""

from __future__ import annotations

from pathlib import Path

from algorithms.sandbox.cgroups import PREFIX, host_cgroups
from algorithms.sandbox.host import mounts
from algorithms.sandbox.launcher import PROGRAM
from algorithms.sandbox.outputfs import LEGACY_SOURCE_PREFIX

MIB = 1024 * 1024


def run_cgroups(owner: int | None = None) -> list[Path]:
    """The run cgroups that exist now (of one worker pid, or all)."""
    host = host_cgroups()
    if host is None:
        return []
    name = f"{PREFIX}{owner}-*" if owner is not None else f"{PREFIX}*"
    return sorted({path for parent in host.parents.values() for path in parent.glob(name)})


def left_cgroups(owner: int) -> list[Path]:
    """The run cgroups of worker process ``owner`` but for its spare start (record 0065: a
    launcher kept waiting in cgroups of its own, made 0.25 s after a run ends): a cgroup
    whose only process is a launcher that has not been told what to run. What a run left
    behind holds its processes, or none."""
    by_name: dict[str, list[Path]] = {}
    for path in run_cgroups(owner):
        by_name.setdefault(path.name, []).append(path)
    return sorted(
        path
        for paths in by_name.values()
        if not any(_holds_only_a_waiting_launcher(path) for path in paths)
        for path in paths
    )


def is_waiting_launcher(argv: list[str]) -> bool:
    """Whether a process's command line is a sandbox launcher's before it is told what to
    run (it then executes bwrap)."""
    return str(PROGRAM) in argv


def _holds_only_a_waiting_launcher(folder: Path) -> bool:
    try:
        pids = (folder / "cgroup.procs").read_text().split()
        if len(pids) != 1:
            return False
        argv = Path(f"/proc/{pids[0]}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return is_waiting_launcher(argv.split("\0"))


def output_mounts(owner: int | None = None) -> list[Path]:
    """Output tmpfs mounts on the host (of one worker pid, or all): the sandbox mounts its
    /output inside itself, so there are none (an older release mounted them on run
    folders)."""
    prefix = f"{LEGACY_SOURCE_PREFIX}{owner}-" if owner is not None else LEGACY_SOURCE_PREFIX
    return [m.point for m in mounts() if m.fstype == "tmpfs" and m.source.startswith(prefix)]


def host_mount_points() -> set[Path]:
    """Every mount point of this process's mount namespace (the host's, in the tests)."""
    return {m.point for m in mounts()}


def shmem_bytes() -> int:
    """Memory the host's tmpfs mounts hold now (``Shmem`` in /proc/meminfo)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    return 0


def allocated_bytes(folder: Path) -> int:
    """Blocks the files under ``folder`` hold on disk."""
    return sum(p.lstat().st_blocks * 512 for p in folder.rglob("*")) if folder.exists() else 0
