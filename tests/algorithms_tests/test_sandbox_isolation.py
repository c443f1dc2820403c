"""Who the sandbox is on the host and what it may ask of the kernel, through the real
bubblewrap backend (no database, no worker): the sandbox's user is an unprivileged host uid
(nobody when the worker is root), a libseccomp filter refuses what an algorithm never needs,
mountinfo shows the binds and nothing else of the host's, the launcher is a read-only file,
and /output is watched by count and copied out by its top level only."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import psutil
import pytest

from algorithms.sandbox.base import SandboxLimits
from algorithms.sandbox.bubblewrap import BubblewrapBackend
from algorithms.sandbox.command import LAUNCHER, LAUNCHER_PATH, MOUNTINFO, runtime_paths
from tests.algorithms_tests.sandbox_helpers import SMALL, run

pytestmark = pytest.mark.slow

HOST_UID = 65534 if os.geteuid() == 0 else os.geteuid()

WHO_AM_I = """
import os, time
print("UIDMAP", " ".join(open("/proc/self/uid_map").read().split()))
print("GIDMAP", " ".join(open("/proc/self/gid_map").read().split()))
status = open("/proc/self/status").read()
print("CAPS", [line.split()[1] for line in status.splitlines() if line.startswith("Cap")])
print("UID", os.getuid(), "GROUPS", os.getgroups(), flush=True)
time.sleep(2)
"""


def test_the_sandbox_user_is_an_unprivileged_host_uid(tmp_path: Path) -> None:
    """bwrap maps the sandbox's user to the uid that starts it: a root worker starts it as
    nobody, so host root is mapped nowhere in the sandbox (its uid_map has one line)."""
    seen: dict[str, object] = {}

    def look() -> bool:  # the program's uids as the host sees them, while it runs
        for process in psutil.process_iter(["cmdline", "uids"]):
            launched = (process.info["cmdline"] or [])[-2:] == [LAUNCHER_PATH, "/code/main.py"]
            with contextlib.suppress(psutil.Error):
                if launched and process.parent().ppid() == os.getpid():  # bwrap is our child
                    seen["uids"] = process.info["uids"]
                    return True
        return False

    def watch() -> None:
        for _ in range(200):
            if look():
                return
            threading.Event().wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = run(tmp_path, WHO_AM_I)
    watcher.join()
    assert result.ok, result.message
    assert f"UIDMAP 65534 {HOST_UID} 1\n" in result.log_tail + "\n", result.log_tail
    gid = 65534 if os.geteuid() == 0 else os.getegid()
    assert f"GIDMAP 65534 {gid} 1\n" in result.log_tail + "\n", result.log_tail
    assert "CAPS ['0000000000000000'" in result.log_tail  # no capability in any set
    assert "UID 65534 GROUPS []" in result.log_tail
    assert tuple(seen["uids"]) == (HOST_UID, HOST_UID, HOST_UID), seen
    how = result.enforcement["host_uid"]
    assert how in (f"uid {HOST_UID}", f"the worker's own (uid {HOST_UID})"), how


SYSCALLS = """
import ctypes, errno, multiprocessing, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def call(name, number, *args):
    result = libc.syscall(number, *args)
    code = errno.errorcode.get(ctypes.get_errno(), "?") if result == -1 else "ALLOWED"
    print("CALL", name, code, flush=True)

buffer = ctypes.create_string_buffer(256)
call("io_uring_setup", 425, 8, buffer)
call("ptrace", 101, 16, 1, 0, 0)  # PTRACE_ATTACH to pid 1 (this program's own namespace)
call("process_vm_readv", 310, 1, 0, 0, 0, 0, 0)
call("keyctl", 250, 0, 0)
call("add_key", 248, b"user", b"k", b"v", 1, 0)
call("userfaultfd", 323, 0)
call("bpf", 321, 0, 0, 0)
call("perf_event_open", 298, buffer, 0, -1, -1, 0)
call("unshare", 272, 0x10000000)  # CLONE_NEWUSER
call("setns", 308, 0, 0)
call("mount", 165, b"none", b"/tmp", b"tmpfs", 0, 0)
call("clock_settime", 227, 0, buffer)
call("init_module", 175, buffer, 0, b"")
call("kexec_load", 246, 0, 0, 0, 0)
call("swapon", 167, b"/tmp/x", 0)
call("reboot", 169, 0xfee1dead, 672274793, 0x4321fedc, 0)
call("clone3", 435, buffer, 88)
call("clone_newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWUSER | SIGCHLD)
call("x32_getpid", 0x40000000 | 39)
# What programs do every day still works: threads, processes, subprocesses.
thread = threading.Thread(target=lambda: print("THREAD OK", flush=True))
thread.start()
thread.join()
child = multiprocessing.Process(target=print, args=("PROCESS OK",))
child.start()
child.join()
print("SUBPROCESS", subprocess.run(["/bin/true"]).returncode, flush=True)
"""

REFUSED = {
    "io_uring_setup": "ENOSYS",
    "ptrace": "EPERM",
    "process_vm_readv": "EPERM",
    "keyctl": "EPERM",
    "add_key": "EPERM",
    "userfaultfd": "EPERM",
    "bpf": "EPERM",
    "perf_event_open": "EPERM",
    "unshare": "EPERM",
    "setns": "EPERM",
    "mount": "EPERM",
    "clock_settime": "EPERM",
    "init_module": "EPERM",
    "kexec_load": "EPERM",
    "swapon": "EPERM",
    "reboot": "EPERM",
    "clone3": "ENOSYS",
    "clone_newuser": "EPERM",
    "x32_getpid": "ENOSYS",
}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the script uses x86-64 numbers")
def test_the_seccomp_filter_refuses_what_an_algorithm_never_needs(tmp_path: Path) -> None:
    result = run(tmp_path, SYSCALLS)
    assert result.ok, result.log_tail
    calls = dict(
        line.split()[1:3] for line in result.log_tail.splitlines() if line.startswith("CALL ")
    )
    assert calls == REFUSED, calls
    for line in ("THREAD OK", "PROCESS OK", "SUBPROCESS 0"):
        assert line in result.log_tail, result.log_tail
    assert result.enforcement["seccomp"] == "libseccomp filter"


MOUNTS = """
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    print("MOUNT", fields[3], fields[4], line.split(" - ")[1].split()[1])
"""


def test_mountinfo_shows_the_sandbox_s_mounts_and_no_host_path(tmp_path: Path) -> None:
    """A bind's root is the path of its source on the host (the runtime's, the run's own
    /code and /task folders), which bwrap cannot change: the program's own mount table is
    replaced by the sandbox's mount points alone (issue 66, algorithms/sandbox/command.py).
    No host path, no path of the platform's checkout, no worker pid."""
    result = run(tmp_path, MOUNTS)
    assert result.ok, result.message
    rows = [line.split()[1:] for line in result.log_tail.splitlines() if line.startswith("MOUNT")]
    shown = [
        [line.split()[3], line.split()[4], line.split(" - ")[1].split()[1]]
        for line in MOUNTINFO.decode().splitlines()
    ]
    assert rows == shown
    runtime = {str(path) for path in runtime_paths()}
    text = result.log_tail
    for path in [*runtime, str(tmp_path), str(Path(__file__).parents[2]), str(os.getpid())]:
        assert path not in text, path
    points = {point for _, point, _ in rows}
    assert {"/code", "/task", "/output", "/tmp", "/dev/shm"} <= points


LAUNCHER_CHECK = """
import sys
print("CMDLINE", open("/proc/self/cmdline", "rb").read().split(b"\\0")[1:-1])
same = open("/sandbox/launch.py", "rb").read() == open("/code/launch_copy.py", "rb").read()
print("SAME", same)
import os
try:
    os.chmod("/sandbox/launch.py", 0o666)
except OSError as exc:
    print("CHMOD", exc.strerror)
"""


def test_the_launcher_is_a_read_only_file_not_program_text(tmp_path: Path) -> None:
    result = run(tmp_path, LAUNCHER_CHECK, **{"launch_copy.py": LAUNCHER.decode()})
    assert result.ok, result.message
    assert "CMDLINE [b'-B', b'-s', b'/sandbox/launch.py', b'/code/main.py']" in result.log_tail
    assert "SAME True" in result.log_tail
    assert "CHMOD Read-only file system" in result.log_tail


FILE_FLOOD = """
import os
os.mkdir("/output/many")
for number in range(200_000):
    open(f"/output/many/{number}", "w").close()
print("NEVER HERE")
"""


def test_a_flood_of_files_in_output_is_stopped_by_its_count(tmp_path: Path) -> None:
    """Counted by the kernel (one fstatvfs a look), never by walking them."""
    limits = SandboxLimits(**{**SMALL.as_dict(), "cpu_seconds": 60, "wall_seconds": 120})
    result = run(tmp_path, FILE_FLOOD, limits)
    assert not result.ok and result.limit_hit == "output_mb", result.message
    assert result.message == (
        "stopped: the algorithm hit the output size limit (40 MiB): "
        "/output held more than 100,000 files and folders"
    )
    assert "NEVER HERE" not in result.log_tail
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["many"]
    assert not any((tmp_path / "out" / "many").iterdir())  # recreated empty, not walked


TOP_FLOOD = """
for number in range(10_001):
    open(f"/output/{number}", "w").close()
open("/output/predictions.csv", "w").write("id,label\\n")
"""


def test_past_10000_entries_at_the_top_of_output_the_run_is_over_its_limit(tmp_path: Path):
    result = run(tmp_path, TOP_FLOOD)
    assert not result.ok and result.limit_hit == "output_mb", result.message
    assert result.message.endswith(": /output held more than 10,000 entries at its top level")
    assert len(os.listdir(tmp_path / "out")) == 10_000


NESTED = """
import os
path = "/output/deep"
os.mkdir(path)
for level in range(1500):
    path += "/d"
    os.mkdir(path)
open("/output/predictions.csv", "w").write("id,label\\n")
"""


def test_1500_nested_folders_are_never_walked(tmp_path: Path) -> None:
    result = run(tmp_path, NESTED)
    assert result.ok, result.message
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["deep", "predictions.csv"]
    assert not any((tmp_path / "out" / "deep").iterdir())


def test_the_sandbox_uid_is_never_root() -> None:
    with pytest.raises(ValueError, match="must not be 0"):
        BubblewrapBackend(sandbox_uid=0)
