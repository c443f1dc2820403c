"""The names of the algorithms app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0054-one-name-per-task.md).
Each is declared with its queue, which a publisher needs: only workers import the tasks
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

from jobs.celery import declare_task

RUN_ALGORITHM = declare_task(name="algorithms.tasks.run_algorithm", queue="algorithms")
RUN_BASELINE = declare_task(name="algorithms.tasks.run_baseline", queue="baselines")
SWEEP_ALGORITHM_RUNS = declare_task(name="algorithms.tasks.sweep_algorithm_runs", queue="scoring")
BENCHMARK_TICK = declare_task(name="algorithms.tasks.benchmark_tick", queue="scoring")
STRESS_TICK = declare_task(name="algorithms.tasks.stress_tick", queue="scoring")
