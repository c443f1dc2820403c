"""``score_file --task <slug> <file>``: validate and score a file now, store nothing (DESIGN §7).

Prints one JSON object ``{"all": {...}, "public": {...}, "private": {...}}``; an invalid file
or an unknown task exits 1 with one line on stderr.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.models import Task
from datasets.selectors import task_get
from scoring.core import SubmissionInvalid, score_file
from scoring.solutions import solution_for_task

SPLITS = ("all", "public", "private")


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class Command(BaseCommand):
    help = "Validate and score a submission file for a task, without storing anything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--task", required=True, help="The task's slug.")
        parser.add_argument("file", type=Path, help="CSV, gzipped CSV or Parquet predictions.")

    def handle(self, *args, task: str, file: Path, **options) -> None:
        try:
            found = task_get(slug=task)
        except Task.DoesNotExist:
            raise CommandError(f"There is no task '{task}'.", returncode=1) from None
        if not file.is_file():
            raise CommandError(f"There is no file {str(file)!r}.", returncode=1)
        solution = solution_for_task(found)
        try:
            result = score_file(file, solution, max_bytes=settings.SUBMISSION_MAX_BYTES)
        except SubmissionInvalid as exc:
            raise CommandError(one_line(exc.message), returncode=1) from None
        metrics = {
            split: {
                name: (value if value is not None and math.isfinite(value) else None)
                for name, value in result.metrics.get(split, {}).items()
            }
            for split in SPLITS
        }
        self.stdout.write(json.dumps(metrics))
