"""Consistency columns of a task's board entries (docs/organizers/stress.md): matching's share of
transitivity violations, for every entry with stored predictions, prediction files included.

The kind computes them (``TaskKind.consistency_context`` once per test file, then
``TaskKind.consistency`` per entry's predictions). A value is cached by the names of the
predictions and test files (a new submission or data version is a new key); the test
file's context is kept for the last task read in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import pyarrow.parquet as pq
from django.core.cache import cache

from datasets.models import Task
from kinds import kind_get
from scoring.core.predictions import load_pred
from scoring.models import Submission

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600
_context: dict[str, Any] = {}
_lock = threading.Lock()


def _test_context(task: Task) -> Any:
    """The kind's consistency context of the task's test file (kept for one file)."""
    key = f"{task.pk}:{task.test_parquet.name}"
    with _lock:
        if key in _context:
            return _context[key]
    columns = [(str(c["name"]), str(c["type"])) for c in task.columns or ()]
    with task.test_parquet.open("rb") as handle:
        features = pq.read_table(handle, columns=[name for name, _ in columns])
    context = kind_get(task.kind).consistency_context(features, columns)
    with _lock:
        _context.clear()
        _context[key] = context
    return context


def entries_consistency(*, task: Task, submission_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Submission id -> the kind's consistency columns of each submission with stored
    predictions (empty for kinds without such columns)."""
    kind = kind_get(task.kind)
    if not kind.consistency_columns or not task.test_parquet or not submission_ids:
        return {}
    storage = Submission._meta.get_field("predictions").storage
    stored = Submission.objects.filter(pk__in=list(submission_ids)).exclude(predictions="")
    out: dict[int, dict[str, Any]] = {}
    context: Any = ...
    for pk, name in stored.values_list("pk", "predictions"):
        key = f"consistency:v1:{task.pk}:{name}:{task.test_parquet.name}"
        value = cache.get(key)
        if value is None:
            try:
                if context is ...:
                    context = _test_context(task)
                with storage.open(name, "rb") as handle:
                    pred = load_pred(handle.read())
                value = kind.consistency(context, pred)
            except Exception:  # one unreadable file must not take the board down
                logger.exception("consistency of submission %s failed", pk)
                continue
            cache.set(key, value, CACHE_SECONDS)
        out[pk] = value
    return out
