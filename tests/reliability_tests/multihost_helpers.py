"""What the many-hosts runs need (scripts/multihost.sh): test_multihost.py and test_chaos.py
skip, saying what is missing, without it (no test module imports another:
tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess


def missing() -> list[str]:
    """What this machine lacks to build the many-hosts deployment (empty: nothing)."""
    absent = [] if os.geteuid() == 0 else ["root (network namespaces)"]
    absent += [
        tool
        for tool in ("ip", "unshare", "runuser", "haproxy", "redis-server")
        if not shutil.which(tool)
    ]
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        absent.append("PostgreSQL (/usr/lib/postgresql/*/bin/initdb)")
    if shutil.which("ip") and os.geteuid() == 0:
        # May this machine make network namespaces (not in an unprivileged container)?
        name = f"mhprobe{os.getpid()}-"
        probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        if probe.returncode != 0:
            absent.append(f"ip netns ({probe.stderr.strip()})")
    return absent
