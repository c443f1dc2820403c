"""Writes of the algorithms app (STYLE: services).

- :mod:`.upload` - an uploaded archive becomes a new version of the team's algorithm;
- :mod:`.runs` - queueing, cancelling and sweeping runs (the shared job lifecycle);
- :mod:`.execute` - one run in the sandbox, and what its output becomes.
"""

from algorithms.services.common import ALGORITHM_RUN, AlgorithmRefused
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.runs import (
    algorithm_run_cancel,
    algorithm_runs_admission,
    algorithm_runs_queue,
    algorithm_runs_sweep,
)
from algorithms.services.upload import algorithm_version_create

__all__ = [
    "ALGORITHM_RUN",
    "AlgorithmRefused",
    "algorithm_run_cancel",
    "algorithm_run_execute",
    "algorithm_runs_admission",
    "algorithm_runs_queue",
    "algorithm_runs_sweep",
    "algorithm_version_create",
]
