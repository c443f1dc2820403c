"""``replace_task_bundle <slug> <bundle> --reason TEXT [--phase SLUG]``: a new version of a
task's data, or, with ``--phase``, a later phase's own test set staged for its start
(``datasets.phase_versions``)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from challenges.models import Phase
from datasets.models import Task
from datasets.replace import TaskReplaceError, task_bundle_replace


class Command(BaseCommand):
    help = (
        "Replace a task's data by a new version of its bundle (folder or .zip, same slug and"
        " kind); every submission of the task is re-scored. On an invalid bundle: exit 1 and"
        " every problem on stderr, nothing changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the task's slug")
        parser.add_argument("bundle", type=Path, help="the new bundle folder or .zip")
        parser.add_argument(
            "--reason", required=True, help="why the data changes (kept in the audit log)"
        )
        parser.add_argument(
            "--phase",
            default="",
            help="stage the bundle as this phase's own test set (a phase of the task's"
            " challenge that has not started): kept from participants and re-scoring nothing"
            " until the phase starts",
        )

    def handle(self, *args, **opts) -> None:
        bundle: Path = opts["bundle"]
        task = Task.objects.filter(slug=opts["slug"]).first()
        if task is None:
            raise CommandError(f"there is no task '{opts['slug']}'", returncode=1)
        reason = (opts["reason"] or "").strip()
        problems = [] if reason else ["a reason is required (--reason): every team is re-scored"]
        phase = None
        if opts["phase"]:
            phase = Phase.objects.filter(
                challenge_id=task.track.challenge_id, slug=opts["phase"]
            ).first()
            if phase is None:
                problems.append(f"the challenge has no phase '{opts['phase']}'")
        try:
            if problems:
                raise TaskReplaceError(problems)
            replaced = task_bundle_replace(
                task=task, source=bundle, actor=None, reason=reason, phase=phase
            )
        except TaskReplaceError as exc:
            count = len(exc.problems)
            lines = [f"{bundle} did not replace the data of '{task.slug}'"]
            lines[0] += f" ({count} problem{'s' if count != 1 else ''}):"
            lines += [f"- {problem}" for problem in exc.problems]
            raise CommandError("\n".join(lines), returncode=1) from exc
        for warning in replaced.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(self.style.SUCCESS(replaced.summary()))
