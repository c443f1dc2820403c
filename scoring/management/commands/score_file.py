"""``score_file --task <slug> <file> [--reference <file>]``: validate and score a file now,
store nothing (docs/architecture.md §7, §11).

Prints one JSON object ``{"all": {...}, "public": {...}, "private": {...}}`` (the metrics
of the task's kind, non-finite values as null); with ``--reference`` each split also gets
``nfr`` and ``pfr`` against that file (kinds whose rows can be right or wrong: not
grouping). An invalid file or an unknown task exits 1 with one line on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.finite import float_or_none
from common.splits import SPLITS
from datasets.models import Task
from datasets.selectors import task_get
from scoring.core import SubmissionInvalid, score_file, score_file_loading
from scoring.core.flips import flip_rates
from scoring.solutions import solution_for_task


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class Command(BaseCommand):
    # A user's cold command: Django's system checks (0.2 s) find nothing a deploy's checks
    # did not, so they are not run here (`manage.py check` runs them).
    requires_system_checks: list[str] = []
    help = "Validate and score a submission file for a task, without storing anything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--task", required=True, help="The task's slug.")
        parser.add_argument("file", type=Path, help="CSV, gzipped CSV or Parquet predictions.")
        parser.add_argument(
            "--reference",
            type=Path,
            default=None,
            help="Another predictions file: adds the flip rates nfr and pfr against it.",
        )

    def handle(
        self, *args, task: str, file: Path, reference: Path | None = None, **options
    ) -> None:
        try:
            found = task_get(slug=task)
        except Task.DoesNotExist:
            raise CommandError(f"There is no task '{task}'.", returncode=1) from None
        for path in (file, reference):
            if path is not None and not path.is_file():
                raise CommandError(f"There is no file {str(path)!r}.", returncode=1)
        try:
            # A cold command: the file is read while the solution loads.
            result, solution = score_file_loading(
                file,
                lambda: solution_for_task(task=found),
                test_rows=found.test_rows,
                max_bytes=settings.SUBMISSION_MAX_BYTES,
            )
        except SubmissionInvalid as exc:
            raise CommandError(one_line(exc.message), returncode=1) from None
        metrics = result.scores()
        if reference is not None:
            try:
                ref = score_file(reference, solution, max_bytes=settings.SUBMISSION_MAX_BYTES)
            except SubmissionInvalid as exc:
                raise CommandError(
                    f"The reference file is invalid: {one_line(exc.message)}", returncode=1
                ) from None
            if solution.task_kind.flips:
                rates = flip_rates(
                    y=solution.y,
                    pred=result.aligned.pred,
                    reference=ref.aligned.pred,
                    is_public=solution.is_public,
                    is_right=solution.is_right,
                )
                for split in SPLITS:
                    metrics[split].update(
                        {name: float_or_none(v) for name, v in rates[split].items()}
                    )
        self.stdout.write(json.dumps(metrics))
