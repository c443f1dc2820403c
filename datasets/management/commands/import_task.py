"""``import_task <bundle> --challenge <slug> --track <slug>``: import an organizer's bundle."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.services import TaskImportError, task_import
from kinds import kind_get


class Command(BaseCommand):
    help = (
        "Import a task bundle (folder or .zip), creating the challenge and track when they"
        " don't exist. On an invalid bundle: exit 1 and every problem on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bundle", type=Path, help="the bundle folder or .zip")
        parser.add_argument("--challenge", required=True, help="challenge slug")
        parser.add_argument("--track", required=True, help="track slug")
        parser.add_argument("--challenge-title", help="title of the challenge, if it is created")
        parser.add_argument("--track-title", help="title of the track, if it is created")
        parser.add_argument(
            "--leak-probe",
            choices=("warn", "refuse", "off"),
            default="",
            help="when the train ids or row order alone predict the labels: warn, refuse the"
            " bundle, or do not check (default: task.yaml's leak_probe, else TASK_LEAK_PROBE)",
        )

    def handle(self, *args, **opts) -> None:
        bundle: Path = opts["bundle"]
        try:
            task = task_import(
                source=bundle,
                challenge_slug=opts["challenge"],
                track_slug=opts["track"],
                challenge_title=opts["challenge_title"],
                track_title=opts["track_title"],
                leak_probe=opts["leak_probe"],
            )
        except TaskImportError as exc:
            count = len(exc.problems)
            lines = [f"{bundle} was not imported ({count} problem{'s' if count != 1 else ''}):"]
            lines += [f"- {problem}" for problem in exc.problems]
            raise CommandError("\n".join(lines), returncode=1) from exc
        for warning in getattr(task, "import_warnings", ()):
            self.stderr.write(f"warning: {warning}")
        classes = (
            ", ".join(task.classes)
            if len(task.classes) <= 20
            else (", ".join(task.classes[:20]) + f", ... ({len(task.classes)} in all)")
        )
        self.stdout.write(
            self.style.SUCCESS(f"Imported task '{task.slug}': {task.title}")
            + f"\n  challenge: {task.track.challenge.slug}  track: {task.track.slug}"
            + f"\n  kind:      {task.kind} (primary metric: {task.primary_metric})"
            + f"\n  rows:      {task.train_rows:,} train, {task.test_rows:,} test"
            + f"\n  columns:   {len(task.columns)} features"
            + (
                f"\n  classes:   {classes}"
                if task.classes
                else f"\n  label:     {kind_get(task.kind).label_meaning}"
            )
        )
