"""The names of the algorithms app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0052-one-name-per-task.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

RUN_ALGORITHM = "algorithms.tasks.run_algorithm"
RUN_BASELINE = "algorithms.tasks.run_baseline"
SWEEP_ALGORITHM_RUNS = "algorithms.tasks.sweep_algorithm_runs"
BENCHMARK_TICK = "algorithms.tasks.benchmark_tick"
STRESS_TICK = "algorithms.tasks.stress_tick"
