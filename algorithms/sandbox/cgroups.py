"""One cgroup budget per run: memory, processes and CPU of the run's whole process tree.

Chosen at run time from what the host lets the worker write:

- **cgroup v2** (a unified hierarchy where the worker's own cgroup, or an ancestor of it,
  delegates ``memory`` and ``pids`` in ``cgroup.subtree_control``): ``memory.max`` with
  ``memory.swap.max`` 0 and ``memory.oom.group`` 1, ``pids.max``, ``cpu.max`` when the run
  has a core cap; OOM kills from ``memory.events``, the process cap from ``pids.events``,
  CPU time from ``cpu.stat``, the kill through ``cgroup.kill``.
- **cgroup v1** (one hierarchy per controller, as on the CI hosts):
  ``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes``), ``pids.max``,
  ``cpu.cfs_quota_us``, CPU time from ``cpuacct.usage``, OOM kills from
  ``memory.oom_control``.
- **nothing writable** (a non-root worker, a read-only ``/sys/fs/cgroup``): no cgroup; the
  backend keeps its rlimits for what no controller covers.

The memory of a cgroup counts what the run's processes hold resident *and* the pages of the
tmpfs mounts they write (``/tmp``, ``/dev/shm``, a tmpfs ``/output``): the kernel charges
tmpfs pages to the memory cgroup of the writer. So one number bounds the whole tree.

Each run's cgroup is made under the worker's own cgroup (or the nearest ancestor that
allows it), so the worker's container limits still hold the run, and is named
``algorithm-run-<worker pid>-<hex>``: a cgroup whose worker died (killed mid-run) is emptied
and removed by the next run on the host. No Django here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from algorithms.sandbox.host import Mount, mounts, pid_alive

PREFIX = "algorithm-run-"
STALE_SECONDS = 120  # a younger cgroup of a live pid may belong to a run that is starting
CPU_PERIOD_US = 100_000
REMOVE_SECONDS = 5.0
# The controllers a run uses; "cpu" only caps the rate (cores), "cpuacct" (v1) counts time.
MEMORY, PIDS, CPU, CPUACCT = "memory", "pids", "cpu", "cpuacct"
CONTROLLERS = (MEMORY, PIDS, CPU, CPUACCT)
_OWNED = re.compile(rf"{PREFIX}(\d+)-[0-9a-f]{{12}}")


@dataclass(frozen=True)
class CgroupHost:
    """Where this worker may make run cgroups: a parent folder per controller."""

    version: int  # 1 or 2
    parents: dict[str, Path] = field(default_factory=dict)

    def covers(self, controller: str) -> bool:
        return controller in self.parents


def host_cgroups(proc: Path = Path("/proc/self")) -> CgroupHost | None:
    """The cgroup layout this process may use, or None (no writable memory or pids cgroup)."""
    try:
        mountinfo = (proc / "mountinfo").read_text()
        membership = (proc / "cgroup").read_text()
    except OSError:
        return None
    return discover(mountinfo=mountinfo, membership=membership)


def discover(*, mountinfo: str, membership: str) -> CgroupHost | None:
    """Parse ``/proc/self/mountinfo`` and ``/proc/self/cgroup`` texts: v2 when a unified
    hierarchy delegates memory and pids to a folder we may write, else v1 per controller."""
    v1_mounts: dict[str, Mount] = {}
    v2_mount: Mount | None = None
    for mount in mounts(mountinfo):
        if mount.fstype == "cgroup2":
            v2_mount = mount
        elif mount.fstype == "cgroup":
            for name in mount.options:
                if name in CONTROLLERS:
                    v1_mounts[name] = mount
    paths: dict[str, str] = {}
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for name in parts[1].split(",") if parts[1] else [""]:
            paths[name] = parts[2].strip()
    if v2_mount is not None and "" in paths:
        parent = _v2_parent(_own_folder(v2_mount, paths[""]), v2_mount.point)
        if parent is not None:
            return CgroupHost(2, {name: parent for name in CONTROLLERS})
    parents = {}
    for name, mount in v1_mounts.items():
        if name not in paths:
            continue
        own = _own_folder(mount, paths[name])
        parent = next((p for p in _upwards(own, mount.point) if _writable(p)), None)
        if parent is not None:
            parents[name] = parent
    if MEMORY not in parents and PIDS not in parents:
        return None
    return CgroupHost(1, parents)


def _own_folder(mount: Mount, path: str) -> Path:
    """This process's cgroup folder in ``mount`` (whose root may be a sub-cgroup)."""
    relative = os.path.relpath(path, mount.root) if path.startswith(mount.root) else "."
    folder = Path(os.path.normpath(mount.point / relative))
    return folder if folder.is_relative_to(mount.point) else mount.point


def _upwards(folder: Path, top: Path) -> Iterable[Path]:
    while True:
        yield folder
        if folder == top or folder.parent == folder:
            return
        folder = folder.parent


def _writable(folder: Path) -> bool:
    return (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK)


def _v2_parent(own: Path, top: Path) -> Path | None:
    for folder in _upwards(own, top):
        delegated = set(_read(folder / "cgroup.subtree_control").split())
        if {MEMORY, PIDS} <= delegated and _writable(folder):
            return folder
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _counter(text: str, key: str) -> int:
    """``key N`` lines (memory.events, pids.events, memory.oom_control, cpu.stat)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            with contextlib.suppress(ValueError):
                return int(value.strip() or 0)
    return 0


class RunCgroup:
    """The cgroup(s) of one run: made (:meth:`__init__`), joined by the run's first process
    (:func:`.launcher_child.join_cgroups`, in the launcher, before its run is known) and
    limited (:meth:`limit`, once the run is known).

    ``controllers`` says what this one enforces (a v1 host may lack some); the backend keeps
    rlimits for the rest. Every method is safe after :meth:`remove`.
    """

    def __init__(
        self,
        host: CgroupHost,
        *,
        memory_bytes: int | None = None,
        processes: int | None = None,
        cpus: int = 0,
    ) -> None:
        """Make the run's folder under each controller's parent (all of them: the CPU quota
        is only known with the run), limited at once when ``memory_bytes`` and
        ``processes`` are given."""
        self.host = host
        self.name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # Every folder made (the ones the launcher joins and the end removes), and the ones
        # whose limit holds, by controller.
        self.made: dict[str, Path] = {}
        self.folders: dict[str, Path] = {}
        for parent in sorted(set(host.parents.values())):
            remove_stale(parent)
        try:
            for controller in CONTROLLERS:
                parent = host.parents.get(controller)
                if parent is None:
                    continue
                folder = parent / self.name
                try:
                    folder.mkdir(exist_ok=True)
                except OSError:
                    continue
                self.made[controller] = folder
            if memory_bytes is not None and processes is not None:
                self.limit(memory_bytes=memory_bytes, processes=processes, cpus=cpus)
        except BaseException:
            self.remove()
            raise

    def limit(self, *, memory_bytes: int, processes: int, cpus: int = 0) -> None:
        """Write the run's limits; a controller whose limit cannot be written (or the CPU
        quota, when ``cpus`` is 0) is not counted as enforcing it."""
        self.folders = {}
        for controller, folder in self.made.items():
            if controller == CPU and cpus <= 0:
                continue
            try:
                self._limit(controller, folder, memory_bytes, processes, cpus)
            except OSError:
                continue
            self.folders[controller] = folder

    @property
    def controllers(self) -> set[str]:
        found = set(self.folders)
        if self.host.version == 2 and self.folders:
            found.add(CPUACCT)  # cpu.stat is in every v2 cgroup
        return found

    def _limit(
        self, controller: str, folder: Path, memory_bytes: int, processes: int, cpus: int
    ) -> None:
        v2 = self.host.version == 2
        if controller == MEMORY:
            _write(folder / ("memory.max" if v2 else "memory.limit_in_bytes"), str(memory_bytes))
            optional = (
                [("memory.swap.max", "0"), ("memory.oom.group", "1")]
                if v2
                else [("memory.memsw.limit_in_bytes", str(memory_bytes))]
            )
            for name, value in optional:  # absent without swap accounting / on old kernels
                if (folder / name).exists():
                    _write(folder / name, value)
        elif controller == PIDS:
            _write(folder / "pids.max", str(processes))
        elif controller == CPU:
            if v2:
                _write(folder / "cpu.max", f"{cpus * CPU_PERIOD_US} {CPU_PERIOD_US}")
            else:
                _write(folder / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                _write(folder / "cpu.cfs_quota_us", str(cpus * CPU_PERIOD_US))

    # --- what the run did ------------------------------------------------------------------

    def _folder(self, controller: str) -> Path | None:
        if self.host.version == 2 and self.folders:
            return next(iter(self.folders.values()))
        return self.folders.get(controller)

    def oom_kills(self) -> int:
        folder = self.folders.get(MEMORY)
        if folder is None:
            return 0
        if self.host.version == 2:
            events = _read(folder / "memory.events")
            return max(_counter(events, "oom_kill"), _counter(events, "oom_group_kill"))
        return _counter(_read(folder / "memory.oom_control"), "oom_kill")

    def processes_hit(self) -> bool:
        folder = self.folders.get(PIDS)
        return folder is not None and _counter(_read(folder / "pids.events"), "max") > 0

    def cpu_seconds(self) -> float | None:
        """CPU time of every process the run ever had (None: no controller counts it)."""
        folder = self._folder(CPUACCT)
        if folder is None:
            return None
        if self.host.version == 2:
            text = _read(folder / "cpu.stat")
            return _counter(text, "usage_usec") / 1e6 if text else None
        usage = _read(folder / "cpuacct.usage").strip()
        return int(usage) / 1e9 if usage.isdigit() else None

    def memory_bytes(self) -> int:
        """What the run holds now and cannot give back: anonymous memory plus tmpfs pages."""
        folder = self.folders.get(MEMORY)
        if folder is None:
            return 0
        stat = _read(folder / "memory.stat")
        if self.host.version == 2:
            return _counter(stat, "anon") + _counter(stat, "shmem")
        return _counter(stat, "total_rss") + _counter(stat, "total_shmem")

    def pids(self) -> list[int]:
        return sorted({pid for folder in self.made.values() for pid in _procs(folder)})

    # --- the end ---------------------------------------------------------------------------

    def kill(self) -> None:
        """SIGKILL every process of the run, forks racing included."""
        _kill_folders(self.host.version, set(self.made.values()))

    def remove(self) -> None:
        """Kill what is left, then remove the cgroups (retrying while the kernel reaps)."""
        folders = set(self.made.values())
        _kill_folders(self.host.version, folders)
        for folder in folders:
            _rmdir(folder)
        self.made, self.folders = {}, {}


def _kill_folders(version: int, folders: set[Path]) -> None:
    for folder in folders:
        kill_file = folder / "cgroup.kill"
        if version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                _write(kill_file, "1")
    for _ in range(100):  # v1: a fork bomb's children appear while their parents die
        live = {
            pid
            for folder in folders
            for pid in _procs(folder)
            if pid != os.getpid() and _live_member(pid, folder.name)
        }
        if not live:
            return
        for pid in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _live_member(pid: int, name: str) -> bool:
    """``pid`` is alive (not a zombie waiting for its parent) and in a cgroup named
    ``name``: a listed pid is checked before it is killed, never trusted."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        groups = Path(f"/proc/{pid}/cgroup").read_text()
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and f"/{name}\n" in groups


def _procs(folder: Path) -> list[int]:
    return [int(line) for line in _read(folder / "cgroup.procs").split() if line.isdigit()]


def _rmdir(folder: Path) -> bool:
    """Remove an emptied cgroup, retrying while the kernel still reaps its killed members
    (EBUSY for a moment on v1); True when it is gone."""
    deadline = time.monotonic() + REMOVE_SECONDS
    while True:
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def remove_stale(parent: Path) -> list[Path]:
    """Remove the run cgroups under ``parent`` that a dead worker left (their processes
    killed first), and empty ones older than ``STALE_SECONDS``; return what was removed."""
    removed = []
    now = time.time()
    for folder in parent.glob(f"{PREFIX}*"):
        owner = _OWNED.fullmatch(folder.name)
        dead = owner is not None and not pid_alive(int(owner[1]))
        try:
            old = now - folder.stat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if not (dead or old):
            continue
        if dead:
            _kill_folders(2 if (folder / "cgroup.kill").exists() else 1, {folder})
            if _rmdir(folder):  # its members were just killed: wait for the kernel's reaping
                removed.append(folder)
            continue
        try:
            folder.rmdir()
        except OSError:
            continue
        removed.append(folder)
    return removed
