"""The sandbox's seccomp filter: the system calls an algorithm never needs, refused.

Compiled with libseccomp (``pyseccomp``, a binding of the system's ``libseccomp.so.2``) into
a classic BPF program that bwrap loads (``--seccomp FD``) after it has set the sandbox up, so
bwrap's own mounts and namespaces come first and the program starts under the filter. Every
run gets it, whoever the worker runs as.

Refused, with ``EPERM`` (a call the kernel forbids) unless said otherwise:

- the kernel's newer attack surfaces: ``io_uring_*`` (``ENOSYS``, as a kernel without
  io_uring: programs fall back to plain reads and writes), ``bpf``, ``perf_event_open``,
  ``userfaultfd``;
- other processes' memory and keys: ``ptrace``, ``process_vm_readv``/``writev``,
  ``process_madvise``, ``pidfd_getfd``, ``kcmp``, ``keyctl``, ``add_key``, ``request_key``;
- the host's state: kernel modules, ``kexec_*``, the clock (``clock_settime``,
  ``clock_adjtime``, ``settimeofday``, ``adjtimex``), ``swapon``/``swapoff``, ``reboot``,
  ``acct``, ``quotactl``, ``syslog``, host and domain names, ``vhangup``, ``iopl``/``ioperm``;
- new mounts and namespaces: ``mount``, ``umount2``, ``pivot_root``, ``chroot``, the mount
  API (``fsopen`` ... ``mount_setattr``), ``open_by_handle_at``, ``unshare``, ``setns``, and
  ``clone`` with any ``CLONE_NEW*`` flag; ``clone3`` gets ``ENOSYS`` (its flags sit in memory
  a filter cannot read), so the C library falls back to ``clone``, which is checked.

A call of another ABI than the host's (x32, 32-bit compat), which rules on the native
numbers would not see, gets ``ENOSYS``. A name this libseccomp does not know (a call newer
than it) is skipped: the kernel it runs on is as old as it is, or the call is left to its
capability checks. Without libseccomp :func:`program` raises :class:`SeccompUnavailable`
and the backend refuses to run: the filter is part of the promise.
"""

from __future__ import annotations

import errno
import functools
import os

# Each call, and the errno it gets.
REFUSED: dict[str, int] = {
    **dict.fromkeys(("io_uring_setup", "io_uring_enter", "io_uring_register"), errno.ENOSYS),
    "clone3": errno.ENOSYS,
    **dict.fromkeys(
        (
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "process_madvise",
            "pidfd_getfd",
            "kcmp",
            "keyctl",
            "add_key",
            "request_key",
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "kexec_load",
            "kexec_file_load",
            "clock_settime",
            "clock_adjtime",
            "settimeofday",
            "adjtimex",
            "stime",
            "swapon",
            "swapoff",
            "reboot",
            "acct",
            "quotactl",
            "quotactl_fd",
            "syslog",
            "sethostname",
            "setdomainname",
            "vhangup",
            "iopl",
            "ioperm",
            "lookup_dcookie",
            "nfsservctl",
            "uselib",
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "chroot",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "open_by_handle_at",
            "unshare",
            "setns",
        ),
        errno.EPERM,
    ),
}
# Every CLONE_NEW* flag: CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
# NEWNET.
CLONE_NEW_FLAGS = 0x80 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NEW_FLAGS |= 0x20000000 | 0x40000000


class SeccompUnavailable(Exception):
    """libseccomp cannot be loaded here (Debian: ``apt-get install libseccomp2``)."""


@functools.cache
def program() -> bytes:
    """The compiled filter for this machine (built once per process)."""
    try:
        import pyseccomp as seccomp
    except ImportError as exc:
        raise SeccompUnavailable(
            f"the seccomp binding is not installed ({exc}): it is in requirements.lock"
        ) from exc
    except OSError as exc:  # the binding loads libseccomp.so.2 on import
        raise SeccompUnavailable(
            f"libseccomp is not available ({exc}): apt-get install libseccomp2"
        ) from exc
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ERRNO(errno.ENOSYS))
    for name, number in REFUSED.items():
        try:
            rules.add_rule(seccomp.ERRNO(number), name)
        except OSError:  # a name this libseccomp (or this machine) does not know
            continue
    # clone: refused unless (flags & CLONE_NEW_FLAGS) == 0, one rule per flag (libseccomp
    # compares a masked argument for equality only).
    for bit in range(64):
        flag = 1 << bit
        if CLONE_NEW_FLAGS & flag:
            rules.add_rule(
                seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
            )
    fd = os.memfd_create("sandbox-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b") as handle:
        rules.export_bpf(handle)
        handle.flush()
        handle.seek(0)
        return handle.read()
