"""The names of the scoring app's Celery tasks, one constant each: the task
(``platform_task(name=...)``) and whoever publishes it (``jobs.lifecycle.publish``,
a job type's ``task_name``) read the same one (docs/decisions/0054-one-name-per-task.md).
Each is declared with its queue, which a publisher needs: only workers import the tasks
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md).

A name stays when its function moves: queued messages, beat entries and claim rows carry it.
"""

from __future__ import annotations

from jobs.celery import declare_task

SCORE_SUBMISSION = declare_task(name="scoring.tasks.score_submission", queue="scoring")
SWEEP_SUBMISSIONS = declare_task(name="scoring.tasks.sweep_submissions", queue="scoring")
BUILD_TRIVIAL_REFERENCE = declare_task(
    name="scoring.tasks.build_trivial_reference", queue="scoring"
)
