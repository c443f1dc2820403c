"""A seccomp filter for runs whose ``/output`` is a folder of the host's disk.

There, ``fallocate`` reserves blocks faster than any watcher can look: measured here, 2.6
GB in the 20 ms between two polls (30 MiB per file, each file within ``RLIMIT_FSIZE``), and
``FALLOC_FL_KEEP_SIZE`` shows in no file size. So on that path the sandbox's programs get
``EOPNOTSUPP`` from ``fallocate``, as from a filesystem that does not support it:
``posix_fallocate`` (glibc, Python's ``os.posix_fallocate``) then writes the blocks, at the
pace of writes, which the watcher sees. Syscalls of another ABI than the host's (x32,
32-bit compat), which a filter on the native numbers would not see, get ``ENOSYS``.

bwrap loads the filter (``--seccomp FD``) as a classic BPF program: an array of
``struct sock_filter``. Unknown machines get no filter (``program()`` returns None); the
README's table says so.
"""

from __future__ import annotations

import errno
import platform
import struct

# struct seccomp_data: int nr; __u32 arch; ...
_NR, _ARCH = 0, 4
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_BIT = 0x40000000
# machine: (AUDIT_ARCH_*, __NR_fallocate, whether the x32 bit must be refused)
_MACHINES = {
    "x86_64": (0xC000003E, 285, True),
    "aarch64": (0xC00000B7, 47, False),
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The compiled filter for ``machine`` (default: this one), or None when unknown."""
    known = _MACHINES.get(machine or platform.machine())
    if known is None:
        return None
    arch, fallocate, refuse_x32 = known
    ops = [
        _op(_BPF_LD_W_ABS, _ARCH),
        _op(_BPF_JEQ_K, arch, jt=1),  # the host's ABI: go on; any other: ENOSYS
        _op(_BPF_RET_K, _RET_ERRNO | errno.ENOSYS),
        _op(_BPF_LD_W_ABS, _NR),
    ]
    if refuse_x32:
        ops += [
            _op(_BPF_JGE_K, _X32_BIT, jf=1),
            _op(_BPF_RET_K, _RET_ERRNO | errno.ENOSYS),
        ]
    ops += [
        _op(_BPF_JEQ_K, fallocate, jf=1),
        _op(_BPF_RET_K, _RET_ERRNO | errno.EOPNOTSUPP),
        _op(_BPF_RET_K, _RET_ALLOW),
    ]
    return b"".join(ops)
