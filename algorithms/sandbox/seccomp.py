"""The sandbox's seccomp filter: an allow-list of the system calls the runtime needs; every
other call fails with ``EPERM`` (issue 51).

Compiled with libseccomp (``pyseccomp``, a binding of the system's ``libseccomp.so.2``) into
a classic BPF program that bwrap loads (``--seccomp FD``) after it has set the sandbox up, so
bwrap's own mounts and namespaces come first and the program starts under the filter. Every
run gets it, whoever the worker runs as.

**Allowed** (:data:`ALLOWED`, grouped below): what Python and the runtime's libraries (numpy,
pandas, pyarrow, scikit-learn with joblib's process workers, LightGBM, CatBoost, XGBoost,
AutoGluon tabular, rapidfuzz, Pillow, their OpenMP and BLAS threads) ask of the kernel:
files and folders inside the sandbox's view, memory, threads and processes, pipes, signals
and timers, polling, clocks, randomness, and Unix sockets. Some calls are allowed only with
some arguments:

- ``socket`` and ``socketpair``: ``AF_UNIX`` only (multiprocessing, asyncio's self-pipe).
  The runtimes open no other family, not even ``AF_INET`` on the empty network namespace's
  loopback; so ``AF_VSOCK`` (which no network namespace scopes: on a VM-hosted worker it
  reaches the host's services), ``AF_NETLINK``, ``AF_PACKET`` and the rest are refused.
- ``personality``: the default (``PER_LINUX``, 0) and the query (``0xffffffff``) only, never
  ``READ_IMPLIES_EXEC`` or ``ADDR_NO_RANDOMIZE``.
- ``clone``: without any ``CLONE_NEW*`` flag (threads and processes, no namespaces).
- ``mknod``, ``mknodat``: named pipes only (``os.mkfifo``), never a device node.

**Refused** with ``ENOSYS``, as a kernel without them would (a program then takes its older
path): ``io_uring_*`` (plain reads and writes instead) and ``clone3`` (its flags sit in
memory a filter cannot read; the C library falls back to ``clone``, which is checked). A call
of another ABI than the host's (x32, 32-bit compat), which rules on the native numbers would
not see, gets ``ENOSYS`` too. Everything else gets ``EPERM``: ptrace, keys, bpf, perf,
userfaultfd, mounts and namespaces, the clock, modules, ``modify_ldt``, ``memfd_secret``,
legacy AIO (``io_setup``...), SysV IPC, ``chown``, ``setuid``... (the refusals the deny-list
of issue 39 named are kept by the allow-list: :data:`NEVER` lists them, and a test checks
that none of them is allowed).

**How the list was derived, and how to derive it again.** ``scripts/seccomp_trace.py`` runs
the honest programs in the real sandbox under ``strace -f`` with a filter that allows every
call (:func:`tracing_program`): the built-in AutoGluon baseline on a classification (text and
image columns), a matching and a regression task, and the witnesses of
``tests/algorithms_tests/honest_programs.py`` (the standard library's files, processes with
every start method, threads, pipes and sockets, polling and asyncio, memory maps, shared
memory, signals, timers and time zones; and the data and learning libraries above). It
prints the calls the programs made that :data:`ALLOWED` lacks and the first argument of every
``socket``/``socketpair``/``personality`` call. On Debian 12 (glibc 2.36, Python 3.11,
kernel 6.18) the programs made 109 distinct calls (sockets of ``AF_UNIX`` only, no
``personality``), all in the list; the list adds the siblings the C library
or another kernel may use for the same work (``statx`` beside ``newfstatat``, ``faccessat2``,
``fchmodat2``, ``epoll_pwait2``, ``close_range``: the C library tries them first and falls
back only on ``ENOSYS``, so refusing them with ``EPERM`` would break an honest program).
After a change of the runtime (a new library, a newer glibc or Python), run the script and
add what it reports, in its group. ``tests/algorithms_tests/test_seccomp_allowlist.py`` runs
the witnesses under the filter, and the baseline's tests run AutoGluon under it.

A name this libseccomp does not know (a call newer than it) is skipped: it is then refused
like any other call. Without libseccomp :func:`program` raises :class:`SeccompUnavailable`
and the backend refuses to run: the filter is part of the promise.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
from typing import Any

# --- the allow-list, by what a program does with each group ---------------------------------

FILES = (
    # open, read, write, seek, close
    "open", "openat", "creat", "close", "close_range", "read", "write", "readv", "writev",
    "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "lseek",
    "sendfile", "copy_file_range", "fadvise64", "fallocate", "ftruncate", "truncate",
    "fsync", "fdatasync", "sync_file_range", "flock", "fcntl", "ioctl", "dup", "dup2", "dup3",
    # what files and folders are
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access",
    "faccessat", "faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "getcwd",
    "chdir", "fchdir", "umask",
    # changing them (inside the sandbox's writable /tmp, /dev/shm and /output only)
    "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2",
    "utime", "utimes", "utimensat", "futimesat",
    # extended attributes (shutil.copystat copies them)
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "memfd_create",
)  # fmt: skip
MEMORY = (
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync",
    # NUMA placement (OpenMP runtimes, BLAS)
    "mbind", "get_mempolicy", "set_mempolicy",
)  # fmt: skip
THREADS_AND_PROCESSES = (
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
    "futex", "set_robust_list", "get_robust_list", "set_tid_address", "rseq", "gettid",
    "getpid", "getppid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
    "capget", "prctl", "arch_prctl", "prlimit64", "getrlimit", "setrlimit", "getrusage",
    "times", "sysinfo", "uname", "getcpu", "pidfd_open", "pidfd_send_signal",
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
    "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "getpriority", "setpriority",
)  # fmt: skip
SIGNALS_AND_TIMERS = (
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
    "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "kill",
    "tkill", "tgkill", "pause", "alarm", "getitimer", "setitimer", "timer_create",
    "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "signalfd", "signalfd4", "eventfd", "eventfd2",
    "restart_syscall",
)  # fmt: skip
WAITING = (
    "pipe", "pipe2", "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "nanosleep", "clock_nanosleep",
)  # fmt: skip
TIME_AND_RANDOMNESS = ("clock_gettime", "clock_getres", "gettimeofday", "time", "getrandom")
# Sockets once made (``socket`` and ``socketpair`` themselves are allowed for AF_UNIX only).
SOCKETS = (
    "bind", "listen", "accept", "accept4", "connect", "shutdown", "getsockname",
    "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "sendmmsg", "recvmmsg",
)  # fmt: skip

ALLOWED: frozenset[str] = frozenset(
    FILES + MEMORY + THREADS_AND_PROCESSES + SIGNALS_AND_TIMERS + WAITING
    + TIME_AND_RANDOMNESS + SOCKETS
)  # fmt: skip

# Allowed with these first arguments only.
SOCKET_FAMILIES = (socket.AF_UNIX,)  # socket() and socketpair()
PER_LINUX = 0
PERSONALITY_QUERY = 0xFFFFFFFF
PERSONALITIES = (PER_LINUX, PERSONALITY_QUERY)
# Every CLONE_NEW* flag: CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
# NEWNET. A clone with none of them is allowed.
CLONE_NEW_FLAGS = 0x80 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NEW_FLAGS |= 0x20000000 | 0x40000000
# mknod(path, mode) and mknodat(dirfd, path, mode): a FIFO only (the file type in mode).
S_IFMT, S_IFIFO = 0o170000, 0o010000
CONDITIONAL = ("socket", "socketpair", "personality", "clone", "mknod", "mknodat")
LOW_32 = 0xFFFFFFFF

# Refused with ENOSYS: the program takes its older path, as on a kernel without them.
NOT_IMPLEMENTED = ("io_uring_setup", "io_uring_enter", "io_uring_register", "clone3")

# What must never be allowed, whatever the runtime asks next (issue 39's deny-list, issue 51's
# findings); a test holds the allow-list to it. (socket, socketpair, personality, clone and
# mknod are allowed by their arguments only: CONDITIONAL.)
NEVER = frozenset(
    {
        "bpf", "perf_event_open", "userfaultfd", "ptrace", "process_vm_readv",
        "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp", "keyctl", "add_key",
        "request_key", "init_module", "finit_module", "delete_module", "create_module",
        "kexec_load", "kexec_file_load", "clock_settime", "clock_adjtime", "settimeofday",
        "adjtimex", "stime", "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd",
        "syslog", "sethostname", "setdomainname", "vhangup", "iopl", "ioperm",
        "lookup_dcookie", "nfsservctl", "uselib", "mount", "umount", "umount2", "pivot_root",
        "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
        "mount_setattr", "open_by_handle_at", "name_to_handle_at", "unshare", "setns",
        "modify_ldt", "memfd_secret", "io_setup", "io_destroy", "io_submit", "io_cancel",
        "io_getevents", "io_pgetevents", "clone3", "io_uring_setup", "io_uring_enter",
        "io_uring_register", "seccomp", "landlock_create_ruleset", "setuid", "setgid",
        "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
        "capset", "chown", "fchown", "lchown", "fchownat", "shmget",
        "shmat", "msgget", "semget", "mq_open", "fanotify_init", "vmsplice", "migrate_pages",
        "move_pages",
    }
)  # fmt: skip


class SeccompUnavailable(Exception):
    """libseccomp cannot be loaded here (Debian: ``apt-get install libseccomp2``)."""


def _binding() -> Any:
    try:
        import pyseccomp
    except ImportError as exc:
        raise SeccompUnavailable(
            f"the seccomp binding is not installed ({exc}): it is in requirements.lock"
        ) from exc
    except OSError as exc:  # the binding loads libseccomp.so.2 on import
        raise SeccompUnavailable(
            f"libseccomp is not available ({exc}): apt-get install libseccomp2"
        ) from exc
    return pyseccomp


def _add(rules: Any, action: Any, name: str, *arguments: Any) -> None:
    try:
        rules.add_rule(action, name, *arguments)
    except OSError:  # a name this libseccomp (or this machine) does not know: refused
        return


@functools.cache
def program() -> bytes:
    """The compiled allow-list for this machine (built once per process)."""
    seccomp = _binding()
    rules = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ERRNO(errno.ENOSYS))
    for name in sorted(ALLOWED):
        _add(rules, seccomp.ALLOW, name)
    # Both take a 32-bit int: the kernel reads the low half of the register, whatever the
    # caller left in the high one (a C int -1 arrives sign-extended), so the rules do too.
    for name in ("socket", "socketpair"):
        for family in SOCKET_FAMILIES:
            _add(rules, seccomp.ALLOW, name, seccomp.Arg(0, seccomp.MASKED_EQ, LOW_32, family))
    for persona in PERSONALITIES:
        only = seccomp.Arg(0, seccomp.MASKED_EQ, LOW_32, persona)
        _add(rules, seccomp.ALLOW, "personality", only)
    _add(rules, seccomp.ALLOW, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEW_FLAGS, 0))
    for name, mode in (("mknod", 1), ("mknodat", 2)):
        _add(rules, seccomp.ALLOW, name, seccomp.Arg(mode, seccomp.MASKED_EQ, S_IFMT, S_IFIFO))
    for name in NOT_IMPLEMENTED:
        _add(rules, seccomp.ERRNO(errno.ENOSYS), name)
    return _exported(rules)


def tracing_program() -> bytes:
    """The filter under which ``scripts/seccomp_trace.py`` traces the honest programs to
    derive :data:`ALLOWED`: every call allowed but :data:`NOT_IMPLEMENTED` (``ENOSYS``, so
    that a program takes the path it takes under :func:`program`). Never used to run."""
    seccomp = _binding()
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ERRNO(errno.ENOSYS))
    for name in NOT_IMPLEMENTED:
        _add(rules, seccomp.ERRNO(errno.ENOSYS), name)
    return _exported(rules)


def _exported(rules: Any) -> bytes:
    fd = os.memfd_create("sandbox-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b") as handle:
        rules.export_bpf(handle)
        handle.flush()
        handle.seek(0)
        return handle.read()
