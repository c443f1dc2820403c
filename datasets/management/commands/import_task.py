"""``import_task <bundle> --challenge <slug> --track <slug>``: import an organizer's bundle;
``import_task --croissant PATH_OR_URL ...``: import a Croissant dataset
(docs/participants/formats.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.croissant_import import task_import_croissant
from datasets.services import TaskImportError, task_import
from kinds import kind_get


class Command(BaseCommand):
    # A user's cold command: Django's system checks (0.2 s) find nothing a deploy's checks
    # did not, so they are not run here (`manage.py check` runs them).
    requires_system_checks: list[str] = []
    help = (
        "Import a task bundle (folder or .zip), creating the challenge and track when they"
        " don't exist. On an invalid bundle: exit 1 and every problem on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bundle", type=Path, nargs="?", help="the bundle folder or .zip")
        parser.add_argument(
            "--croissant",
            metavar="PATH_OR_URL",
            help="import a Croissant dataset (JSON-LD file or URL) instead of a bundle",
        )
        parser.add_argument("--slug", help="with --croissant: the task's slug")
        parser.add_argument("--kind", help="with --croissant: the task's kind (else inferred)")
        parser.add_argument(
            "--title",
            help="with --croissant: the task's title (else the dataset's name; with the slug "
            "appended when another task of the track has that title)",
        )
        parser.add_argument(
            "--solution",
            type=Path,
            help="with --croissant: the test rows' labels (id,label) when the dataset has none",
        )
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
        bundle: Path | None = opts["bundle"]
        croissant: str | None = opts["croissant"]
        if (bundle is None) == (croissant is None):
            raise CommandError("give a bundle, or --croissant PATH_OR_URL (not both)", returncode=2)
        extra = [f"--{o}" for o in ("slug", "kind", "title", "solution") if opts[o] is not None]
        if extra and croissant is None:
            raise CommandError(f"{', '.join(extra)}: with --croissant only", returncode=2)
        destination = {
            "challenge_slug": opts["challenge"],
            "track_slug": opts["track"],
            "challenge_title": opts["challenge_title"],
            "track_title": opts["track_title"],
            "leak_probe": opts["leak_probe"],
        }
        try:
            if croissant is not None:
                task = task_import_croissant(
                    source=croissant,
                    slug=opts["slug"],
                    kind=opts["kind"],
                    title=opts["title"],
                    solution=opts["solution"],
                    **destination,
                )
            else:
                task = task_import(source=bundle, **destination)
        except TaskImportError as exc:
            count, source = len(exc.problems), croissant or bundle
            if count == 1:  # one line: the problem itself
                raise CommandError(
                    f"{source} was not imported: {exc.problems[0]}", returncode=1
                ) from exc
            lines = [f"{source} was not imported ({count} problems):"]
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
