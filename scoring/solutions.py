"""The one way to load a task's solution: parsed once per process, kept in a small cache.

The solution carries the task's OPIS settings (docs/architecture.md §11): the ``opis``
keys of ``task.yaml`` (``group_column``, ``range``, ``min_group_rows``) as the import stored them
(``Task.opis``), and
for matching the group column's values (from the test file or the solution, whichever has
the column) aligned to the solution's rows by id.

Scoring, the submission insight, the leaderboard's bootstrap and ``score_file`` all read the
solution through :func:`solution_for_task`, so a solution is parsed by one code path and a
replaced solution file (a new name) is never served from the cache.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import keyfile
from common.files import local_path
from datasets.models import Task
from kinds import kind_get
from scoring.core import Solution, load_solution
from scoring.core.opis import DEFAULT_MIN_GROUP_ROWS, DEFAULT_RANGE, OpisSettings

logger = logging.getLogger(__name__)

SOLUTION_CACHE_SIZE = 4


@dataclass
class SolutionCache:
    """Loaded solutions of this process, keyed by task id and solution file name (LRU)."""

    size: int = SOLUTION_CACHE_SIZE
    items: OrderedDict[tuple[int, str, str], Solution] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, task: Task) -> Solution:
        # The OPIS settings and the kind's options are part of the key: an organizer's
        # change is never served stale.
        key = (
            task.pk,
            task.solution.name,
            repr((task_opis_options(task=task), task_kind_options(task=task))),
        )
        with self.lock:
            solution = self.items.get(key)
            if solution is not None:
                self.items.move_to_end(key)
                return solution
        solution = task_solution_load(task=task)
        with self.lock:
            self.items[key] = solution
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return solution


solution_cache = SolutionCache()


def solution_for_task(*, task: Task) -> Solution:
    """``task``'s parsed solution (cached per process; see the module docstring)."""
    return solution_cache.get(task)


def task_opis_options(*, task: Task) -> dict[str, Any]:
    """``{"group_column": str | None, "range": (lo, hi), "min_group_rows": int}`` from the
    task's ``opis`` settings (validated at import, ``datasets.core``)."""
    found = task.opis if isinstance(task.opis, dict) else {}
    lo, hi = found.get("range") or DEFAULT_RANGE
    return {
        "group_column": found.get("group_column") or None,
        "range": (float(lo), float(hi)),
        "min_group_rows": int(found.get("min_group_rows") or DEFAULT_MIN_GROUP_ROWS),
    }


def task_kind_options(*, task: Task) -> dict[str, Any]:
    """What scoring needs of the task's own settings (``TaskKind.solution_options`` of its
    ``task.json``: regression's tolerance...)."""
    meta = task.meta if isinstance(task.meta, dict) else {}
    return kind_get(task.kind).solution_options(meta)


def task_solution_load(*, task: Task) -> Solution:
    """The task's solution, with the OPIS range, minimum and groups (where the kind takes
    a group column) and the kind's options set."""
    with task.solution.open("rb") as handle:
        solution = load_solution(
            handle,
            kind=task.kind,
            classes=list(task.classes),
            options=task_kind_options(task=task),
        )
    options = task_opis_options(task=task)
    settings = OpisSettings(range=options["range"], min_group_rows=options["min_group_rows"])
    column = options["group_column"]
    if column and solution.task_kind.opis_group_column:
        groups = _group_column(task, column, solution)
        if groups is not None:
            codes, names = groups
            settings = replace(settings, groups=codes, group_names=names)
    return replace(solution, opis=settings, keys_path=_keys_path(task))


def _keys_path(task: Task) -> str | None:
    """Where the import stored the solution ids' key table (``common.keyfile``), on a local
    storage; None on an object store, where scoring makes the table (a download of the
    file would cost more: ``datasets.services``). The file is read only if it is there
    and is these ids' table."""
    return local_path(task.solution.storage, keyfile.keys_name(task.solution.name))


def _group_column(
    task: Task, column: str, solution: Solution
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    for stored in (task.test_parquet, task.solution):
        if not stored:
            continue
        with stored.open("rb") as handle:
            parquet = pq.ParquetFile(handle)
            if column not in parquet.schema_arrow.names:
                continue
            table = parquet.read(columns=["id", column])
        return _codes_in_solution_order(table, column, solution)
    logger.warning("task %s: OPIS group column %r is in neither file", task.slug, column)
    return None


def _codes_in_solution_order(
    table: pa.Table, column: str, solution: Solution
) -> tuple[np.ndarray, tuple[str, ...]]:
    ids = table["id"].cast(pa.string()).combine_chunks()
    values = table[column].cast(pa.string()).combine_chunks()
    encoded = pc.dictionary_encode(values)
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(), dtype=np.int64)
    names = tuple(encoded.dictionary.to_pylist())
    if len(ids) == len(solution.ids) and pc.all(pc.equal(ids, solution.ids)).as_py():
        return codes, names
    at = np.asarray(pc.fill_null(pc.index_in(solution.ids, value_set=ids), -1).to_numpy())
    return np.where(at >= 0, codes[np.maximum(at, 0)], -1), names
