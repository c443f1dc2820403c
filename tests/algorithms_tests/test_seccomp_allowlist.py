"""The sandbox's seccomp allow-list (issue 51, ``algorithms/sandbox/seccomp.py``), through the
real bubblewrap backend (no database, no worker): what issue 51 found allowed now fails with
EPERM inside a real sandboxed program, and the honest programs still run under it (the
standard library the ordinary ways, and the data and learning libraries; the AutoGluon
baseline's own tests run it under the same filter). The honest programs are also what
``scripts/seccomp_trace.py`` traces to derive the list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from algorithms.sandbox import seccomp
from algorithms.sandbox.base import SandboxLimits
from tests.algorithms_tests.honest_programs import LIBRARIES, STDLIB
from tests.algorithms_tests.sandbox_helpers import run

pytestmark = pytest.mark.slow

# Each of issue 51's findings, tried by its x86-64 number through libc's syscall(), which
# reports the errno.
PROBES = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def call(name, number, *args):
    ctypes.set_errno(0)
    result = libc.syscall(number, *args)
    code = errno.errorcode.get(ctypes.get_errno(), "?") if result == -1 else "ALLOWED"
    print("CALL", name, code, flush=True)

buffer = ctypes.create_string_buffer(4096)
context = ctypes.c_ulong(0)
call("socket_vsock", 41, 40, 1, 0)              # socket(AF_VSOCK, SOCK_STREAM, 0)
call("socket_netlink", 41, 16, 3, 0)            # socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
call("socket_inet", 41, 2, 1, 0)                # socket(AF_INET, SOCK_STREAM, 0)
call("socket_inet6", 41, 10, 2, 0)              # socket(AF_INET6, SOCK_DGRAM, 0)
call("socket_packet", 41, 17, 3, 0)             # socket(AF_PACKET, SOCK_RAW, 0)
call("socketpair_inet", 53, 2, 1, 0, buffer)    # socketpair(AF_INET, ...)
call("personality_read_implies_exec", 135, 0x0400000)
call("personality_no_randomize", 135, 0x0040000)
call("modify_ldt", 154, 0, buffer, 16)
call("memfd_secret", 447, 0)
call("io_setup", 206, 8, ctypes.byref(context))
call("io_submit", 209, 0, 0, 0)
call("shmget", 29, 0, 4096, 0o1600)             # SysV shared memory (IPC_PRIVATE)
call("chown", 92, b"/tmp", 0, 0)
call("setuid", 105, 0)
call("inotify_init1", 294, 0)
call("mknod_device", 133, b"/tmp/null", 0o020666, 0x0103)  # mknod(S_IFCHR, 1:3)
call("mknod_regular", 133, b"/tmp/file", 0o100644, 0)   # mknod(S_IFREG): only FIFOs
# ... and what an honest program does with the same calls still works.
call("socket_unix", 41, 1, 1, 0)                # socket(AF_UNIX, SOCK_STREAM, 0)
call("socketpair_unix", 53, 1, 1, 0, buffer)
call("personality_query", 135, 0xFFFFFFFF)
call("personality_default", 135, 0)
call("mknod_fifo", 133, b"/tmp/fifo", 0o010644, 0)      # mknod(S_IFIFO): os.mkfifo
"""

EXPECTED = {
    "socket_vsock": "EPERM",
    "socket_netlink": "EPERM",
    "socket_inet": "EPERM",
    "socket_inet6": "EPERM",
    "socket_packet": "EPERM",
    "socketpair_inet": "EPERM",
    "personality_read_implies_exec": "EPERM",
    "personality_no_randomize": "EPERM",
    "modify_ldt": "EPERM",
    "memfd_secret": "EPERM",
    "io_setup": "EPERM",
    "io_submit": "EPERM",
    "shmget": "EPERM",
    "chown": "EPERM",
    "setuid": "EPERM",
    "inotify_init1": "EPERM",
    "mknod_device": "EPERM",
    "mknod_regular": "EPERM",
    "socket_unix": "ALLOWED",
    "socketpair_unix": "ALLOWED",
    "personality_query": "ALLOWED",
    "personality_default": "ALLOWED",
    "mknod_fifo": "ALLOWED",
}

ROOMY = SandboxLimits(
    wall_seconds=300, cpu_seconds=600, memory_mb=4096, processes=256, output_mb=40,
    tmp_mb=400, log_mb=5,
)  # fmt: skip


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the script uses x86-64 numbers")
def test_what_issue_51_found_allowed_fails_with_eperm_inside_the_sandbox(tmp_path: Path):
    result = run(tmp_path, PROBES)
    assert result.ok, result.log_tail
    calls = dict(
        line.split()[1:3] for line in result.log_tail.splitlines() if line.startswith("CALL ")
    )
    assert calls == EXPECTED, calls
    assert result.enforcement["seccomp"] == "libseccomp filter"


def test_the_standard_library_runs_under_the_allow_list(tmp_path: Path):
    result = run(tmp_path, STDLIB, ROOMY)
    assert result.ok, (result.message, result.log_tail[-3000:])
    assert "STDLIB OK" in result.log_tail


def test_the_data_and_learning_libraries_run_under_the_allow_list(tmp_path: Path):
    result = run(tmp_path, LIBRARIES, ROOMY)
    assert result.ok, (result.message, result.log_tail[-3000:])
    assert "LIBRARIES OK" in result.log_tail
    assert (tmp_path / "out" / "predictions.csv").read_text().startswith("id,label")


def test_the_allow_list_never_allows_what_must_stay_refused():
    """Issue 39's deny-list and issue 51's findings stay out, whatever is added later; the
    calls allowed by argument are never allowed whole."""
    assert not seccomp.ALLOWED & seccomp.NEVER
    assert not seccomp.ALLOWED & set(seccomp.CONDITIONAL)
    assert not seccomp.ALLOWED & set(seccomp.NOT_IMPLEMENTED)
    assert seccomp.SOCKET_FAMILIES == (1,)  # AF_UNIX
    assert seccomp.PERSONALITIES == (0, 0xFFFFFFFF)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="some names are x86-64's own")
def test_every_allowed_name_is_a_system_call_this_libseccomp_knows():
    """A misspelt name would be skipped silently (and refused): every one must resolve."""
    import pyseccomp

    unknown = [
        name
        for name in sorted(seccomp.ALLOWED)
        if pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) < 0
    ]
    assert unknown == []
