"""``run_baselines [--task <slug>]``: queue the AutoGluon baselines (docs/architecture.md
§7).

Without ``--task``, every task (of ``--challenge``, if given) that has no queued, running or
succeeded baseline; ``--force`` also re-runs tasks whose baseline succeeded. With
``--task``, those tasks unless their baseline is queued or running. ``--wait`` blocks until
the runs (and the ones already queued for the selected tasks) are finished and their
predictions scored, then prints each task's baseline score and training time. Needs a worker
on the ``baselines`` queue (``make run`` starts one).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from algorithms import selectors
from algorithms.services.baseline import PRESETS, BaselineRunRefused, baselines_queue
from algorithms.services.builtin import worker_hard_time_limit
from datasets.models import Task

POLL_SECONDS = 2.0


class Command(BaseCommand):
    help = "Queue the AutoGluon baselines of every task (or of --task), optionally --wait."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--task", action="append", default=[], metavar="SLUG", help="only this task"
        )
        parser.add_argument("--challenge", metavar="SLUG", help="only this challenge's tasks")
        parser.add_argument(
            "--force", action="store_true", help="also re-run tasks whose baseline succeeded"
        )
        parser.add_argument(
            "--presets",
            choices=PRESETS,
            default=None,
            help=f"AutoGluon presets (default: {settings.BASELINE_PRESETS})",
        )
        parser.add_argument(
            "--time-limit",
            type=int,
            default=None,
            metavar="SECONDS",
            help="safety limit: a baseline not finished by then fails (its work is fixed;"
            f" default: {settings.BASELINE_TIME_LIMIT})",
        )
        parser.add_argument(
            "--wait", action="store_true", help="wait for the runs and print their scores"
        )
        parser.add_argument(
            "--wait-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="give up waiting after this long (default: every run's hard limit, in a row)",
        )

    def handle(self, *args, **opts) -> None:
        tasks = self._tasks(opts["task"], opts["challenge"])
        if not tasks:
            self.stdout.write("no tasks")
            return
        try:
            report = baselines_queue(
                tasks=tasks,
                presets=opts["presets"],
                time_limit=opts["time_limit"],
                skip_succeeded=not (opts["force"] or opts["task"]),
            )
        except BaselineRunRefused as exc:  # limits: same for every task
            raise CommandError(exc.message, returncode=1) from exc
        for run in report.queued:
            self.stdout.write(
                f"queued   {run.task.slug:<20} run #{run.pk}"
                f" ({run.options['presets']}, {run.options['time_limit']} s)"
            )
        for task, reason in report.skipped:
            self.stdout.write(f"skipped  {task.slug:<20} {reason}")
        if not opts["wait"]:
            return
        pks = [run.pk for run in report.queued] + [
            active.pk
            for task in tasks
            if (active := selectors.baseline_run_active(task=task)) is not None
            and active.pk not in {run.pk for run in report.queued}
        ]
        if not pks:
            return
        self._wait(pks, opts["wait_timeout"])

    def _tasks(self, slugs: list[str], challenge: str | None) -> list[Task]:
        tasks = Task.objects.select_related("track__challenge").order_by(
            "track__challenge__slug", "track__order", "order", "slug"
        )
        if challenge:
            tasks = tasks.filter(track__challenge__slug=challenge)
        if not slugs:
            return list(tasks)
        found = {task.slug: task for task in tasks.filter(slug__in=slugs)}
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            raise CommandError(f"no task {', '.join(repr(s) for s in missing)}", returncode=1)
        return [found[slug] for slug in dict.fromkeys(slugs)]

    def _wait(self, pks: list[int], timeout: float | None) -> None:
        timeout = timeout or len(pks) * (worker_hard_time_limit() + 60) + 300
        self.stdout.write(
            f"waiting for {len(pks)} run(s) (a worker must consume the 'baselines' queue) ..."
        )
        deadline = time.monotonic() + timeout
        seen: dict[int, tuple[str, str | None]] = {}
        while True:
            results = selectors.baseline_results(run_pks=pks)
            for r in results:
                state = (r.status, r.submission_status)
                if seen.get(r.run_pk) != state:
                    seen[r.run_pk] = state
                    scoring = f", submission {r.submission_status}" if r.submission_status else ""
                    self.stdout.write(f"  {r.task:<20} run #{r.run_pk}: {r.status}{scoring}")
            if all(r.done for r in results):
                break
            if time.monotonic() > deadline:
                raise CommandError(f"gave up waiting after {timeout:.0f} s", returncode=1)
            time.sleep(POLL_SECONDS)
        self._table(results)
        bad = [r for r in results if r.status != "succeeded" or r.submission_status != "scored"]
        if bad:
            lines = [f"{r.task}: {r.status} ({r.message})" for r in bad]
            raise CommandError("some baselines did not score:\n" + "\n".join(lines), returncode=1)

    def _table(self, results: list[selectors.BaselineResult]) -> None:
        def num(value: float | None, spec: str = ".4f") -> str:
            return "-" if value is None else format(value, spec)

        header = (
            f"{'task':<20} {'kind':<14} {'metric':<9} {'public':>7} {'private':>7} {'all':>7}"
            f" {'valid.':>7} {'fit s':>6} {'run s':>6}  best model"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in results:
            self.stdout.write(
                f"{r.task:<20} {r.kind:<14} {r.primary_metric:<9}"
                f" {num(r.scores.get('public')):>7} {num(r.scores.get('private')):>7}"
                f" {num(r.scores.get('all')):>7} {num(r.validation_score):>7}"
                f" {num(r.fit_seconds, '.0f'):>6} {num(r.elapsed, '.0f'):>6}  {r.best_model}"
            )
