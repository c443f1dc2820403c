"""The transfer matrix's answers kept whole (issue 43: a 20,000-cell matrix answers within
1 s warm): the API's JSON and the page's matrix, decomposition, frontier and robustness
sections, in the board cache (:func:`leaderboard.cache.board_cache.cached`, scope ``transfer``,
the track's id) under a fingerprint of everything they are computed from.

Assembling the matrix reads every cell's run again (a model instance a run) and every cell's
summary: linear in the cells, seconds at 20,000. So a miss assembles it from one column per
task (``leaderboard.transfer.matrix.TransferColumn``), kept here under its task's fingerprint
(:func:`columns`): only the columns of tasks that changed are read from the database, and a
new cell costs its task's column. The fingerprints (:func:`task_fingerprints`, and the
track's, a digest of its tasks') are five aggregate queries over the same rows, and change
whenever the answer may:

- the track's runs (every profile: a cell's run, a queued or running one, the baseline's,
  a stress run's robustness): per status, their count, the sum and the largest of their ids,
  the newest status change and finish. A new run, a run failing or succeeding, a cancel, a
  run deleted each move one of them (every status change of a job sets
  ``status_changed_at``, ``jobs.lifecycle``);
- the submissions those runs made (a team's run follows its submission's scoring): per
  status, the same figures, so a rescore after a new data version (every submission back
  in the queue, then scored again) changes it twice;
- the baseline entries of the track's tasks per split (a new baseline score replaces the
  entry: a new id and submission);
- the tasks as the matrix reads them (slug, title, order, kind, metric, data version,
  contributing team) and the challenge's algorithms and their teams' names.

The page's table rows are kept too (:func:`fragments`), each under a digest of the values
it shows and of its template's source: after a new cell the page renders that algorithm's
rows again, not 40,000 cells. Such a key names the content itself, so a row is only ever
served where the very same values are shown by the very same template (an edited template
is a miss, without a bump of :data:`FORMAT`).

What is kept is the same for everyone who may see the split: who may see the private split
is decided before the cache is read (``challenges.split_access``), the split is part
of the key, and the page's header, navigation and messages are rendered per request around
the kept sections. An answer whose decomposition is ``updating`` (the track's last fit, while
a worker fits the new matrix) is never kept, so the worker's fit shows at the next read
(and a reader queues a lost refit again). With the board cache off (``BOARD_CACHE=0``, or a
cache that is not Redis) every read computes, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.template.loader import get_template

from algorithms.models import Algorithm, AlgorithmRun
from challenges.models import Track
from common.collector import collector_paused
from datasets.models import Task
from runtime.localredis import cache_unavailable_errors, cache_unavailable_suppressed

from ..models import LeaderboardEntry
from . import board_cache, connection

T = TypeVar("T")

SCOPE = "transfer"
# A column's key is its content's fingerprint, so it never goes stale: kept as long as the
# cells' summaries (``leaderboard.transfer.cells.CACHE_SECONDS``). A kept answer lives the
# board cache's ``BOARD_CACHE_SECONDS``; after that it is assembled again from the kept columns
# (what a new cell costs), not from the database.
COLUMN_SECONDS = 24 * 3600
# Bump when what a kept answer holds changes shape (a cell's computation, the JSON, a filter
# the page's templates load). An edited template needs none: the page's sections and rows
# are kept under their template's source digest (:func:`template_digest`).
FORMAT = "v1"


def _aggregate(rows, group: str, pk: str, *timestamps: str) -> dict[int, list[tuple]]:
    """By task, then per ``group``: the count, the sum and the largest of ``pk`` and the
    newest of each of ``timestamps``, as plain tuples in the group's order."""
    figures = {"n": Count(pk), "sum": Sum(pk), "top": Max(pk)}
    figures |= {f"t{i}": Max(name) for i, name in enumerate(timestamps)}
    by_task: dict[int, list[tuple]] = {}
    found = rows.order_by().values_list("task_id", group).annotate(**figures)
    for task_id, *row in found.order_by("task_id", group):
        by_task.setdefault(task_id, []).append(tuple(str(value) for value in row))
    return by_task


def task_fingerprints(*, tasks: list[Task], challenge_id: int) -> dict[int, str]:
    """Task id -> a digest of everything its column of the matrix is computed from, on
    either split (the module docstring), in five queries however many tasks."""
    if not tasks:
        return {}
    fields = {
        row[0]: row
        for row in Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list(
            "pk",
            "slug",
            "title",
            "order",
            "kind",
            "primary_metric",
            "data_version",
            "owner_team_id",
        )
    }
    runs = AlgorithmRun.objects.filter(task__in=tasks)
    figures = [
        _aggregate(runs, "status", "pk", "status_changed_at", "finished_at"),
        _aggregate(
            runs.filter(submission__isnull=False),
            "submission__status",
            "submission_id",
            "submission__status_changed_at",
        ),
        _aggregate(
            LeaderboardEntry.objects.filter(task__in=tasks, is_baseline=True),
            "split",
            "submission_id",
            "pk",
        ),
    ]
    # A rename shows wherever the algorithm has a cell: every column carries the names.
    names = list(
        Algorithm.objects.filter(challenge_id=challenge_id)
        .order_by("pk")
        .values_list("pk", "name", "team_id", "team__name")
    )
    named = hashlib.sha256(repr(names).encode()).hexdigest()
    return {
        task.pk: hashlib.sha256(
            repr(
                [FORMAT, named, fields.get(task.pk), *(part.get(task.pk) for part in figures)]
            ).encode()
        ).hexdigest()
        for task in tasks
    }


def _track_fingerprints(track: Track) -> dict[int, str]:
    tasks = list(Task.objects.filter(track=track).order_by("pk").only("pk"))
    return task_fingerprints(tasks=tasks, challenge_id=track.challenge_id)


def _track_digest(by_task: dict[int, str]) -> str:
    return hashlib.sha256(repr(sorted(by_task.items())).encode()).hexdigest()


# The tasks' fingerprints the answer being computed is kept under (:func:`kept`): its
# columns are kept under the same ones, taken once. Taken before the columns are read, so
# a column is never older than its key says (a write in between: the next read's key).
_taken: ContextVar[dict[int, str] | None] = ContextVar("transfer_fingerprints", default=None)


def _column_key(task_id: int, split: str, fingerprint: str) -> str:
    return f"leaderboard:transfer-column:{FORMAT}:{split}:{task_id}:{fingerprint}"


def columns(
    *,
    tasks: list[Task],
    split: str,
    challenge_id: int,
    compute: Callable[[list[Task]], dict[int, T]],
) -> dict[int, T]:
    """Task id -> its column of the matrix on ``split``: those kept under their task's
    current fingerprint in one round trip, the others from ``compute(missing tasks)`` (and
    kept, unless a column says it is not ``complete``: a cell could not be computed)."""
    if not connection.enabled() or not tasks:
        return compute(tasks)
    fingerprints = _taken.get()
    if fingerprints is None or any(task.pk not in fingerprints for task in tasks):
        fingerprints = task_fingerprints(tasks=tasks, challenge_id=challenge_id)
    keys = {task.pk: _column_key(task.pk, split, fingerprints[task.pk]) for task in tasks}
    try:
        found = cache.get_many(list(keys.values()))
    except cache_unavailable_errors():
        return compute(tasks)  # the cache is a shortcut: the database answers
    out = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [task for task in tasks if task.pk not in out]
    if missing:
        made = compute(missing)
        out |= made
        keep = {keys[pk]: c for pk, c in made.items() if getattr(c, "complete", True)}
        with cache_unavailable_suppressed:
            cache.set_many(keep, timeout=COLUMN_SECONDS)
    return out


def kept(
    *, track: Track, parts: Sequence[str], compute: Callable[[], tuple[object, bool]]
) -> object:
    """``compute()``'s value, kept in the board cache under the track's fingerprint and
    ``parts`` (the split and what else the value depends on, never who asks). ``compute``
    returns the value and whether it may be kept (not while its decomposition is updating)."""
    if not connection.enabled():
        return compute()[0]
    made: list[object] = []

    by_task = _track_fingerprints(track)

    def keep() -> object | None:
        taken = _taken.set(by_task)
        try:
            with collector_paused():  # thousands of cells unpickled, few objects freed
                value, keepable = compute()
        finally:
            _taken.reset(taken)
        made.append(value)
        return value if keepable else None  # None: kept nowhere, the next reader computes

    value = board_cache.cached(
        scope=SCOPE,
        pk=track.pk,
        parts=(
            *parts,
            _track_digest(by_task),
        ),
        compute=keep,
    )
    return made[0] if value is None and made else value


# A loaded template's source digest, taken once: the cached template loader keeps each
# template for the life of the process (and loads it again after an edit in development).
_sources: WeakKeyDictionary[Any, str] = WeakKeyDictionary()


def template_digest(*, name: str) -> str:
    """The digest of template ``name``'s source, for a kept rendering's key: an edited
    template is a miss."""
    return _source_digest(get_template(name))


def _source_digest(compiled: Any) -> str:
    """The digest of a loaded template's source (the backend's wrapper or the template)."""
    template = getattr(compiled, "template", compiled)
    digest = _sources.get(template)
    if digest is None:
        digest = hashlib.sha256(template.source.encode()).hexdigest()
        _sources[template] = digest
    return digest


def fragments(*, template: str, contexts: list[tuple[object, dict]]) -> list[str]:
    """``template`` rendered with each context, kept by a digest of what it shows (the
    first element of each pair: everything the template reads, as plain values) and of the
    template's source: a page's row renders again only when what it shows, or its template,
    changed. (What the template does not hold is not in the key: bump :data:`FORMAT` when
    a filter it loads changes what it writes.)"""
    compiled = get_template(template)
    source = _source_digest(compiled)
    keys = [
        "leaderboard:transfer-fragment:"
        + hashlib.sha256(repr((FORMAT, template, source, shown)).encode()).hexdigest()
        for shown, _ in contexts
    ]
    found: dict[str, str] = {}
    if connection.enabled() and keys:
        with cache_unavailable_suppressed:
            found = cache.get_many(keys)
    made = {
        key: compiled.render(context)
        for key, (_, context) in zip(keys, contexts, strict=True)
        if key not in found
    }
    if made and connection.enabled():
        with cache_unavailable_suppressed:
            cache.set_many(made, timeout=COLUMN_SECONDS)
    return [found[key] if key in found else made[key] for key in keys]
