"""``build_references [--task <slug>]``: build each task's trivial baseline and point its
AutoGluon reference at the baseline team's latest scored submission now, then refresh the
task's boards (whose interval job computes the flip columns). Idempotent. Boards do this on
their own after each score; the command serves tasks without a submission yet."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from challenges import hooks
from datasets.models import Task
from scoring.services.references import reference_autogluon_sync, reference_trivial_ensure


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--task", help="Only this task (its slug).")

    def handle(self, *args, task: str | None = None, **options) -> None:
        tasks = Task.objects.order_by("slug")
        if task:
            tasks = tasks.filter(slug=task)
            if not tasks.exists():
                raise CommandError(f"There is no task '{task}'.")
        for t in tasks:
            trivial = reference_trivial_ensure(task=t)
            autogluon = reference_autogluon_sync(task=t)
            hooks.emit(event=hooks.TaskResultsChanged(task_id=t.pk))
            self.stdout.write(
                f"{t.slug}: trivial public score {trivial.public_score if trivial else None}; "
                f"AutoGluon {'yes' if autogluon else 'none yet'}"
            )
