"""The platform's processes, read from the repository's ``Procfile`` (one home for them).

``manage.py runplatform`` starts every entry with honcho; ``docker/entrypoint.sh`` starts one
entry per container. Both read the same file, so a new process is one new line there.
"""

from __future__ import annotations

import shlex
from itertools import pairwise
from pathlib import Path

from django.conf import settings

PROCFILE = Path(settings.BASE_DIR) / "Procfile"
# Processes only a balancer sends requests to (``manage.py haproxy_config``'s
# ``--boards-server``): ``runplatform`` runs no balancer, so it leaves them out.
BEHIND_A_BALANCER = frozenset({"boards"})


def processes(path: Path = PROCFILE) -> dict[str, str]:
    """``{name: shell command}`` in the file's order; raises ValueError when it is empty."""
    from honcho.environ import parse_procfile

    found = dict(parse_procfile(path.read_text(encoding="utf-8")).processes)
    if not found:
        raise ValueError(f"{path} defines no process")
    return found


def queue_processes(path: Path = PROCFILE) -> dict[str, str]:
    """``{queue: name}`` of the Procfile's Celery workers: which process consumes each queue
    (its ``-Q``), the one an operator starts when a queue has no consumer."""
    found: dict[str, str] = {}
    for name, command in processes(path).items():
        words = shlex.split(command)
        for flag, value in pairwise(words):
            if flag in ("-Q", "--queues"):
                for queue in value.split(","):
                    found.setdefault(queue, name)
    return found
