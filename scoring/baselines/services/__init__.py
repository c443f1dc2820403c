"""Writes of the baselines app, by sub-domain (STYLE: services).

- :mod:`.queue` - the baseline team, limits, queueing, cancelling and the sweeper;
- :mod:`.execute` - claiming a run and watching it (heartbeat, log tail, cancel flag);
- :mod:`.outcome` - recording the outcome and submitting the predictions.

The run itself goes through the algorithms sandbox: ``algorithms.services.baseline``.

All three run on the shared job lifecycle (:mod:`challenge_platform.jobs`). The names below
are the package's public API; import them from ``scoring.baselines.services``.
"""

from scoring.baselines.services.execute import (
    HEARTBEAT_SECONDS,
    BaselineCancelled,
    BaselineRunWatch,
    baseline_run_claim,
)
from scoring.baselines.services.outcome import BaselineOutcome, finish, record_outcome
from scoring.baselines.services.queue import (
    BASELINE_TEAM_NAME,
    BASELINES,
    PRESETS,
    RUNNING_STALE_SECONDS,
    TASK_OVERHEAD_SECONDS,
    WORKER_LOST,
    BaselineQueueReport,
    BaselineRunRefused,
    BaselineSweepReport,
    baseline_run_again,
    baseline_run_cancel,
    baseline_run_queue,
    baseline_runs_sweep,
    baseline_team_get_or_create,
    baselines_queue,
    baselines_queue_for_challenge,
    default_hard_timeout,
    max_hard_timeout,
    queued_stale_seconds,
    worker_hard_time_limit,
    worker_soft_time_limit,
)

__all__ = [
    "BASELINES",
    "BASELINE_TEAM_NAME",
    "HEARTBEAT_SECONDS",
    "PRESETS",
    "RUNNING_STALE_SECONDS",
    "TASK_OVERHEAD_SECONDS",
    "WORKER_LOST",
    "BaselineCancelled",
    "BaselineOutcome",
    "BaselineQueueReport",
    "BaselineRunRefused",
    "BaselineRunWatch",
    "BaselineSweepReport",
    "baseline_run_again",
    "baseline_run_cancel",
    "baseline_run_claim",
    "baseline_run_queue",
    "baseline_runs_sweep",
    "baseline_team_get_or_create",
    "baselines_queue",
    "baselines_queue_for_challenge",
    "default_hard_timeout",
    "finish",
    "max_hard_timeout",
    "queued_stale_seconds",
    "record_outcome",
    "worker_hard_time_limit",
    "worker_soft_time_limit",
]
