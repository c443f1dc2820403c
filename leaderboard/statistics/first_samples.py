"""A task's row resamples of what each board entry adds to its track's mean: the input of
who is first (:mod:`leaderboard.statistics.first`), cached by the prediction files they read.

The bootstrap job, which reads every entry's predictions anyway, stores them as it computes
the board's intervals (:func:`task_samples_store`); a page or API call that finds none
computes them (:func:`task_samples`). Same seed and rows as the board's intervals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
from django.core.cache import cache

from datasets.models import Task
from kinds import kind_get
from leaderboard.core.bootstrap import bootstrap_leaderboard, has_bootstrap
from leaderboard.models import Split
from scoring.core.predictions import load_pred
from scoring.models import Submission
from scoring.solutions import solution_for_task

N_RESAMPLES = 1000  # the boards' intervals' resamples (the same rows, the same seed)
CACHE_SECONDS = 24 * 3600


def track_metric(*, task: Task) -> str:
    """The metric resampled for the track: the kind's track metric when the track counts
    another metric than the primary (regression: R²), else the primary."""
    kind = kind_get(task.kind)
    if kind.track_metrics:
        return kind.track_metrics[0]
    return task.primary_metric or kind.primary


def _track_values(task: Task, metric: str, scores: np.ndarray) -> np.ndarray:
    """``TaskKind.track_value`` of each resampled ``metric`` score (None counts 0, as a
    missing value does in the track's mean)."""
    kind = kind_get(task.kind)
    primary = task.primary_metric or kind.primary

    def value(score: float) -> float:
        out = kind.track_value(primary, float(score), {metric: float(score)})
        return 0.0 if out is None or not np.isfinite(out) else float(out)

    return np.vectorize(value, otypes=[np.float64])(scores)


def _predictions(submission: Submission) -> np.ndarray:
    with submission.predictions.open("rb") as handle:
        return load_pred(handle.read())


def task_samples(
    *, task: Task, split: str, submissions: Mapping[int, Submission]
) -> dict[int, np.ndarray] | None:
    """(B,) resampled track values per team id on ``task``'s ``split`` rows; None when the
    task's track metric has no bootstrap (its values then count without row noise)."""
    metric = track_metric(task=task)
    readable = {t: s for t, s in submissions.items() if s.predictions}
    if not readable or not has_bootstrap(task.kind, metric):
        return None
    key = _key(task, split, metric, readable)
    cached = cache.get(key)
    if cached is not None:
        return cached
    # Each entry's resamples depend on its own file only (the same rows and seed for every
    # entry: a paired bootstrap), so a new best file resamples that file alone, not the
    # whole board (a track's render in a rush: 300 files each time, seconds under load).
    entry_keys = {team: _entry_key(task, split, metric, s) for team, s in readable.items()}
    kept = cache.get_many(list(entry_keys.values()))
    missing = [team for team, k in entry_keys.items() if k not in kept]
    if missing:
        solution = solution_for_task(task=task)
        public = np.asarray(solution.is_public, dtype=bool)
        rows = public if split == Split.PUBLIC else ~public
        if not rows.any():
            return None
        result = bootstrap_leaderboard(
            y=np.asarray(solution.y),
            preds=[_predictions(readable[t]) for t in missing],
            kind=task.kind,
            metric=metric,
            n_resamples=N_RESAMPLES,
            seed=0,
            rows=rows,
            keep_samples=True,
        )
        kept.update(_store_entries(task, metric, entry_keys, missing, result.samples))
    out = {team: kept[k] for team, k in entry_keys.items()}
    cache.set(key, out, CACHE_SECONDS)
    return out


def _key(task: Task, split: str, metric: str, submissions: Mapping[int, Submission]) -> str:
    names = sorted(f"{t}={s.predictions.name}" for t, s in submissions.items())
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return f"first:v2:{split}:{task.pk}:{metric}:{digest}"  # v2: float64 (v1 was float32)


def _entry_key(task: Task, split: str, metric: str, submission: Submission) -> str:
    """One entry's resampled track values: its prediction file's (the file is the content)."""
    name = hashlib.sha256(submission.predictions.name.encode()).hexdigest()
    return f"first:v2e:{split}:{task.pk}:{metric}:{name}"


def _store_entries(
    task: Task, metric: str, entry_keys: Mapping[int, str], teams: list[int], samples: np.ndarray
) -> dict[str, np.ndarray]:
    """Keep each of ``teams``' column of ``samples`` (resampled ``metric`` scores) as its
    track values under its entry key; returns them by key."""
    # float64, never float32: a float32 copy of k / n differs from the float64 k / n of a
    # team counted by its point value by ~1e-8, and a tie for first would go to one of them.
    values = _track_values(task, metric, samples).astype(np.float64)
    out = {entry_keys[team]: values[:, i].copy() for i, team in enumerate(teams)}
    cache.set_many(out, CACHE_SECONDS)
    return out


def task_samples_store(
    *,
    task: Task,
    split: str,
    metric: str,
    submissions: Mapping[int, Submission],
    samples: np.ndarray,
) -> None:
    """Keep the bootstrap job's ``samples`` ((resamples, entries) scores of ``metric``, the
    entries in the order of ``submissions``: team id -> submission) when they are what
    :func:`task_samples` would compute (the track's metric, N_RESAMPLES, every entry with a
    file), so the next read finds them."""
    readable = {t: s for t, s in submissions.items() if s.predictions}
    if (
        metric != track_metric(task=task)
        or len(readable) != len(submissions)
        or samples.shape != (N_RESAMPLES, len(submissions))
    ):
        return
    entry_keys = {team: _entry_key(task, split, metric, s) for team, s in readable.items()}
    kept = _store_entries(task, metric, entry_keys, list(submissions), samples)
    out = {team: kept[k] for team, k in entry_keys.items()}
    cache.set(_key(task, split, metric, readable), out, CACHE_SECONDS)
