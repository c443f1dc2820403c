"""The CPU priority of the web server on a host it shares with the scoring workers.

In a deadline rush the readers of the boards can take every core the web server is given,
while a scoring needs little CPU but needs it now: on one two-core host the scoring queue
waited 20 s behind the readers. The web therefore runs at a lower priority
(``WEB_CPU_NICE``, nice 5 by default; 0 keeps the default priority): the scoring workers
get the CPU when they need it, the web gets everything they leave
(docs/decisions/0023-boards-in-a-rush-cache-and-cpu-priority.md).

Setting the process's nice value is not enough on Linux with autogroup scheduling (Debian's
default, ``/proc/sys/kernel/sched_autogroup_enabled``): every session is then a scheduling
group, the groups share the CPUs equally, and a nice value counts only against the other
processes of its own session. A service's process (started by honcho, systemd or a
container's init in a session with no terminal) therefore also gives its session's group the
same nice value. From a terminal, only the process's own value is set: the session is the
user's shell's.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

AUTOGROUP = Path("/proc/self/autogroup")


def web_nice() -> int:
    """``WEB_CPU_NICE`` (default 5), within nice's range 0-19."""
    raw = os.environ.get("WEB_CPU_NICE", "5").strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"WEB_CPU_NICE must be a whole number from 0 to 19, not {raw!r}") from None
    if not 0 <= value <= 19:
        raise ValueError(f"WEB_CPU_NICE must be a whole number from 0 to 19, not {value}")
    return value


def _has_terminal() -> bool:
    try:
        os.close(os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY))
    except OSError:
        return False
    return True


def _autogroup_nice() -> int | None:
    """This session's group's nice value (``/autogroup-42 nice 0``), or None without
    autogroup."""
    try:
        return int(AUTOGROUP.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def lower(nice: int) -> None:
    """Run this process (and the children it starts) at ``nice`` or lower; for a service in a
    session of its own, its session's scheduling group too. Never raises a priority: a
    value already above ``nice`` (set by an administrator) is kept."""
    if nice <= 0:
        return
    if os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    group = _autogroup_nice()
    if group is not None and group < nice and not _has_terminal():
        with contextlib.suppress(OSError):  # not allowed here: the process's value holds
            AUTOGROUP.write_text(f"{nice}\n")
    logger.info("CPU priority: nice %s (session group: %s)", nice, _autogroup_nice())
