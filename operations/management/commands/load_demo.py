"""``load_demo``: the demo challenge built from real public data (docs/architecture.md
§6, §7).

Idempotent and quick the second time: existing rows are kept as they are (an organizer may
have edited them) and a task whose slug exists is skipped before its bundle is built. Every
task goes through ``datasets.services.task_import``, the same service as an organizer upload.
It lives in the top layer (``operations``) because it uses datasets and the baselines.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from algorithms.models import ACTIVE, BaselineRun
from algorithms.services.baseline import baselines_queue_for_challenge
from challenges.models import Challenge, Phase, Team, Track
from challenges.phases import phase_create, phase_update
from common import board_modes
from datasets import demo as demo_tasks
from datasets.demo import DemoSourceUnavailable
from datasets.models import Task, default_public_board
from datasets.services import TaskImportError, task_import
from kinds import kind_get, kind_names
from operations.demo_budget import demo_budget_apply
from operations.demo_entries import demo_entries_ensure
from operations.demo_final import (
    bundle_split,
    demo_final_phase,
    has_final_version,
    stage_final,
    stages_held_back,
)
from operations.demo_threads import demo_threads_ensure

logger = logging.getLogger(__name__)

CHALLENGE_SLUG = "demo"
CHALLENGE_TITLE = "Multimodal Tabular Benchmark: demo challenge"
CHALLENGE_DAYS = 90
DAILY_LIMIT = 5
BASELINE_TEAM = "AutoGluon baseline"
CHALLENGE_INTRO = """\
Welcome to the **demo challenge** of the multimodal tabular benchmark. Every task is built
from real public data: rows whose columns mix **text, numbers, categories and images**, the
kind of data teams across the company work with.
"""
CHALLENGE_HOW_TO = """\
**How to take part.** Log in, create a team (or join one with an invite code), download a
task's `train` and `test` files (CSV or Parquet), and upload a prediction file with `id`
and `label` columns, one row per test id, on the task page, through the REST API or with
the `chal` command-line client. Scores appear within seconds.

**Leaderboards.** The public leaderboard scores part of the test rows; the private one,
revealed when the challenge ends, scores the rest and decides the ranking. A track ranks
teams by their mean score over its tasks (a task without a submission counts 0). The
**AutoGluon baseline** is shown on every leaderboard as the bar to beat; it never takes a
rank. Two example teams ("Example: ...") enter every task with algorithms the platform runs
in its sandbox, so the boards rank teams from the start. Each team may submit up to 5 files
per task per UTC day.
"""
NUMBERS = ("no", "one", "two", "three", "four", "five", "six")


def _number(n: int) -> str:
    return NUMBERS[n] if n < len(NUMBERS) else str(n)


def challenge_kinds() -> str:
    """The sentence naming every kind of task the demo has, with its tasks, in the kinds'
    order (``datasets.demo.DEMO_TASKS``, labels from the kinds registry)."""
    by_kind: dict[str, list[str]] = {}
    for demo in demo_tasks.DEMO_TASKS:
        by_kind.setdefault(demo.task_kind, []).append(f"`{demo.slug}`")
    parts = [
        f"**{kind_get(name).label}** ({', '.join(by_kind[name])})"
        for name in kind_names()
        if name in by_kind
    ]
    if len(parts) == 1:
        sentence = f"Its tasks are all of one kind: {parts[0]}."
    else:
        listed = f"{', '.join(parts[:-1])} and {parts[-1]}"
        sentence = f"Its tasks are of {_number(len(parts))} kinds: {listed}."
    # Where a kind's predictions go elsewhere than `label` (grouping: `cluster`), say so.
    for name in kind_names():
        kind = kind_get(name)
        if name in by_kind and kind.prediction_column != "label":
            sentence += (
                f" A {kind.label} task's prediction file has `id` and `{kind.prediction_column}`"
                " columns."
            )
    return sentence


LADDER_BOARDS = """\
**Ladder boards.** A team's shown public score moves only when a new entry is better than
its shown score by a significant margin; an entry that is not is shown as such, without its
exact public score, until the private leaderboard is revealed. Reading the public board,
even adaptively, overfits it little.
"""


def challenge_description() -> str:
    """The demo challenge's Markdown: the introduction, one bullet per demo track
    (``datasets.demo.DEMO_TRACKS``), the kinds of its tasks, then how to take part (and
    that its public boards are ladder boards, when new tasks start as such:
    ``PUBLIC_BOARD_DEFAULT``, docs/organizers/ladder.md)."""
    tracks = demo_tasks.DEMO_TRACKS
    bullets = "\n".join(f"- {track.summary}" for track in tracks)
    ladder = f"\n{LADDER_BOARDS}" if board_modes.is_ladder(default_public_board()) else ""
    return (
        f"{CHALLENGE_INTRO}\nThere are {_number(len(tracks))} tracks:\n\n{bullets}\n\n"
        f"{challenge_kinds()}\n\n{CHALLENGE_HOW_TO}{ladder}"
    )


PHASES_NOTE = """
**Two phases.** The challenge runs in a **development phase** (two thirds of its time),
where your entries are scored and ranked as you send them, then a **blind final phase**,
where they are scored on test rows the development phase never saw (released when the
final phase starts) but you see nothing of their scores until the organizers reveal the
results; the final phase's entries make the standings. Your team's page and
`chal phases demo` show what is open now.
"""


def demo_phases_ensure(*, challenge: Challenge) -> bool:
    """Divide the demo challenge into a live development phase and a blind final phase
    (docs/participants/phases.md), once: only while it has its one phase, ``main`` (a new
    demo, or one made before phases; that phase, and every entry in it, becomes ``dev``).
    True when it was divided now."""
    phases = list(challenge.phases.all())
    if [phase.slug for phase in phases] != ["main"]:
        return False
    split = challenge.start + (challenge.end - challenge.start) * 2 / 3
    end = challenge.end
    reason = "the demo challenge runs in two phases"
    phase_update(
        phase=phases[0],
        actor=None,
        values={"slug": "dev", "title": "Development phase", "end": split, "final": False},
        reason=reason,
    )
    phase_create(
        challenge=challenge,
        actor=None,
        values={
            "slug": "final",
            "title": "Final phase",
            "start": split,
            "end": end,
            "feedback": "blind",
            "final": True,
        },
        reason=reason,
    )
    if PHASES_NOTE.strip() not in challenge.description:
        challenge.refresh_from_db()
        challenge.description = f"{challenge.description.rstrip()}\n{PHASES_NOTE}"
        challenge.save(update_fields=["description", "description_html"])
    return True


class Command(BaseCommand):
    help = "Create (or complete) the demo challenge from public data; safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only", action="append", default=[], metavar="SLUG", help="only this demo task"
        )
        parser.add_argument(
            "--cache-dir",
            type=Path,
            help="where downloaded sources are kept (default: DATA_DIR/cache)",
        )

    def handle(self, *args, **opts) -> None:
        started = time.monotonic()
        challenge, tracks = self._challenge_and_tracks()
        cache_dir = opts["cache_dir"] or Path(settings.DATA_DIR) / "cache"
        final = demo_final_phase(challenge=challenge)
        lines = [
            self._import_demo(demo, tracks, cache_dir=cache_dir, final=final)
            for demo in self._demo_tasks(opts["only"])
        ]
        self.stdout.write(f"Demo challenge '{challenge.slug}': {challenge.title}")
        for line in lines:
            self.stdout.write(f"  {line}")
        self.stdout.write(demo_threads_ensure(challenge=challenge))
        self.stdout.write(demo_entries_ensure(challenge=challenge))
        self.stdout.write(f"load_demo done in {time.monotonic() - started:.1f} s")
        self._queue_baselines(challenge)

    def _challenge_and_tracks(self) -> tuple[Challenge, dict[str, Track | None]]:
        with transaction.atomic():
            start = timezone.now()
            end = start + timedelta(days=CHALLENGE_DAYS)
            challenge, created = Challenge.objects.get_or_create(
                slug=CHALLENGE_SLUG,
                defaults={
                    "title": CHALLENGE_TITLE,
                    "description": challenge_description(),
                    "start": start,
                    "end": end,
                    "reveal_at": end,
                    "daily_submission_limit": DAILY_LIMIT,
                },
            )
            # Before any task arrives: every run the demo queues follows its budget.
            demo_budget_apply(challenge=challenge, created=created)
            if created:
                self.stdout.write(f"created the challenge '{challenge.slug}'")
            if demo_phases_ensure(challenge=challenge):
                self.stdout.write("the demo challenge runs in two phases: dev, then final")
            tracks: dict[str, Track | None] = {}
            for order, demo_track in enumerate(demo_tasks.DEMO_TRACKS):
                slug = demo_track.slug
                track, _ = Track.objects.get_or_create(
                    slug=slug,
                    defaults={
                        "challenge": challenge,
                        "title": demo_track.title,
                        "description": demo_track.description,
                        "order": order,
                    },
                )
                if track.challenge_id != challenge.pk:
                    self.stderr.write(
                        f"the track '{slug}' belongs to the challenge"
                        f" '{track.challenge.slug}', not '{challenge.slug}'; its demo tasks"
                        " are skipped"
                    )
                    track = None
                tracks[slug] = track
            Team.objects.get_or_create(
                challenge=challenge, is_baseline=True, defaults={"name": BASELINE_TEAM}
            )
        return challenge, tracks

    def _demo_tasks(self, only: list[str]) -> list:
        available = demo_tasks.DEMO_TASKS
        if not only:
            return list(available)
        unknown = set(only) - {demo.slug for demo in available}
        for slug in sorted(unknown):
            self.stderr.write(f"no demo task '{slug}'")
        return [demo for demo in available if demo.slug in only]

    def _import_demo(
        self,
        demo,
        tracks: dict[str, Track | None],
        *,
        cache_dir: Path,
        final: Phase | None = None,
    ) -> str:
        """Build and import one demo task unless it exists, its held-back test rows staged
        for the final phase (``operations.demo_final``); return its summary line."""
        hold = final is not None and stages_held_back(kind=demo.task_kind)
        existing = Task.objects.filter(slug=demo.slug).first()
        if existing is not None:
            line = f"{demo.slug:<16} exists, skipped ({existing.train_rows:,} train rows)"
            if hold and not has_final_version(task=existing, phase=final):
                line += self._stage_existing(demo, existing, final, cache_dir=cache_dir)
            return line
        if tracks.get(demo.track_slug) is None:
            return f"{demo.slug:<16} skipped: no usable track '{demo.track_slug}'"
        started = time.monotonic()
        staging = Path(settings.DATA_DIR) / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"building {demo.slug} ...")
        try:
            with tempfile.TemporaryDirectory(prefix=f"demo-{demo.slug}-", dir=staging) as tmp:
                bundle = demo.builder(out_dir=Path(tmp) / demo.slug, seed=0, cache_dir=cache_dir)
                held = 0
                if hold:
                    held = bundle_split(
                        bundle=bundle, final_dir=Path(tmp) / "final", drop_from_bundle=True
                    )
                task = task_import(
                    source=bundle, challenge_slug=CHALLENGE_SLUG, track_slug=demo.track_slug
                )
                if held and not self._staged(task, final, Path(tmp) / "final"):
                    held = 0
        except DemoSourceUnavailable as exc:
            self.stderr.write(f"{demo.slug}: source unavailable, skipped: {exc}")
            return f"{demo.slug:<16} UNAVAILABLE: {exc}"
        except TaskImportError as exc:
            # A refused demo bundle is a bug in its builder; report it and carry on.
            self.stderr.write(f"{demo.slug}: the demo bundle was refused:")
            for problem in exc.problems:
                self.stderr.write(f"- {problem}")
            return f"{demo.slug:<16} REFUSED ({len(exc.problems)} problems, see above)"
        except Exception as exc:  # one broken builder must not stop the platform from starting
            logger.exception("demo task %s failed", demo.slug)
            return f"{demo.slug:<16} FAILED: {type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
        # A kind without a class list (regression, grouping) says what its label holds.
        labels = (
            f"{len(task.classes)} classes"
            if kind_get(task.kind).has_classes
            else f"label: {kind_get(task.kind).label_meaning}"
        )
        staged = f"; {held:,} held back for the final phase" if held else ""
        return (
            f"{task.slug:<16} imported: {task.kind}, {task.train_rows:,} train /"
            f" {task.test_rows:,} test rows, {labels}{staged} ({seconds:.1f} s)"
        )

    def _staged(self, task: Task, final: Phase | None, final_dir: Path) -> bool:
        try:
            stage_final(task=task, phase=final, final_dir=final_dir)
        except Exception:  # the development phase works without it; the next run tries again
            logger.exception("staging the final phase's rows of %s failed", task.slug)
            self.stderr.write(f"{task.slug}: the final phase's held-back rows were not staged")
            return False
        return True

    def _stage_existing(self, demo, task: Task, final: Phase, *, cache_dir: Path) -> str:
        """A demo task imported before the final phase had its own data: its bundle built
        again (the same rows), the held-back rows staged for the final phase."""
        staging = Path(settings.DATA_DIR) / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryDirectory(prefix=f"demo-{demo.slug}-", dir=staging) as tmp:
                bundle = demo.builder(out_dir=Path(tmp) / demo.slug, seed=0, cache_dir=cache_dir)
                held = bundle_split(
                    bundle=bundle, final_dir=Path(tmp) / "final", drop_from_bundle=False
                )
                stage_final(task=task, phase=final, final_dir=Path(tmp) / "final")
        except Exception as exc:  # the development phase works without it
            logger.exception("staging the final phase's rows of %s failed", demo.slug)
            return f"; the final phase's rows not staged: {type(exc).__name__}: {exc}"
        return f"; {held:,} test rows staged for the final phase"

    def _queue_baselines(self, challenge: Challenge) -> None:
        # Queues the AutoGluon baseline of every task of the challenge that has none yet;
        # idempotent, as load_demo runs on each start. A task imported above queued its own
        # on arrival (BENCHMARK_ON_ARRIVAL): the line counts those too.
        runs = baselines_queue_for_challenge(challenge=challenge)
        pending = BaselineRun.objects.filter(
            task__track__challenge=challenge, status__in=ACTIVE
        ).count()
        also = f"; {pending} queued or running in all" if pending > len(runs) else ""
        self.stdout.write(f"baselines: {len(runs)} AutoGluon run(s) queued{also}")
