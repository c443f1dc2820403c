"""Writes of the algorithms app (docs/architecture.md, House style: services).

- :mod:`.upload` - an uploaded archive becomes a new version of the team's algorithm;
- :mod:`.profiles` - the run profiles (team, organizer, baseline): limits, queue, outcome;
- :mod:`.runs` - creating, queueing, cancelling and sweeping runs (the shared job lifecycle);
- :mod:`.execute` - the one pipeline: a run in the sandbox, and what its output becomes
  (:mod:`.outcome`), watched while it runs (:mod:`.watch`);
- :mod:`.builtin` and :mod:`.baseline` - the built-in AutoGluon baseline and its queueing;
- :mod:`.benchmark` - the living benchmark's scheduler (membership, re-runs, reproductions,
  the queue's state), within the budget of :mod:`.budget`; run manifests in :mod:`.manifest`.
"""

from __future__ import annotations

from types import ModuleType

from common.lazy import lazy_exports

__all__ = [
    "AlgorithmRefused",
    "algorithm_run_cancel",
    "algorithm_run_execute",
    "algorithm_runs_admission",
    "algorithm_runs_queue",
    "algorithm_runs_sweep",
    "algorithm_upload_admission",
    "algorithm_version_create",
]


def _modules() -> tuple[ModuleType, ...]:
    """Where the names above live: imported on the first read of one (``common.lazy``):
    every process imports one module of this package at start (the run profiles, which the
    tasks' registration reads), which imports the package first; the pipeline's modules are
    only needed where a run is handled."""
    from algorithms.services import common, execute, runs, upload

    return (common, execute, runs, upload)


__getattr__ = lazy_exports(__name__, __all__, _modules)
