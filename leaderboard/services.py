"""Writes for leaderboards: a board's bootstrap intervals, computed by the job a refresh asks
for (docs/architecture.md, House style: services). The refresh itself, after a score, is
``leaderboard.refresh``; the stored entries it writes, ``leaderboard.stored_board``.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from datasets.phase_versions import task_for_phase
from datasets.selectors import task_get
from kinds import kind_get
from leaderboard.core.bootstrap import bootstrap_leaderboard, has_bootstrap
from scoring.core.predictions import load_pred
from scoring.selectors import scorings_waiting
from scoring.solutions import solution_for_task

from .boards.references import FLIP_FIELDS, entry_flips_fill, references_sync
from .cache import interval_jobs
from .models import LeaderboardEntry, Split
from .refresh import boards_changed_after_commit
from .statistics.first_samples import task_samples_store
from .statistics.rank_set_fields import RANK_SET_FIELDS, entry_rank_sets_fill

INTERVAL_FIELDS = ("score_low", "score_high", "rank_low", "rank_high", "tied_with_best")


def leaderboard_bootstrap_run(*, task_id: int) -> int:
    """The bootstrap job: compute unless a run of the same task is under way (it will
    re-run) or nothing changed since the last one; returns the computations made."""
    return interval_jobs.run(
        task_id=task_id,
        compute=lambda: leaderboard_bootstrap_compute(task_id=task_id),
        busy=scorings_waiting,  # the intervals give way to queued scorings, for a while
    )


def leaderboard_bootstrap_compute(*, task_id: int, n_resamples: int = 1000, seed: int = 0) -> None:
    """Compute score/rank intervals and the group tied with #1 for both splits of a task."""
    task = task_get(pk=task_id)
    primary = references_sync(task=task)
    if not has_bootstrap(task.kind, task.primary_metric):
        return  # no statistic for this metric: the board shows no intervals
    entries = list(LeaderboardEntry.objects.filter(task=task).select_related("submission"))
    if not entries:
        return
    # the board's phase's data (its entries are of one phase: datasets.phase_versions)
    solution = solution_for_task(
        task=task_for_phase(task=task, phase_id=entries[0].submission.phase_id)
    )
    y = np.asarray(solution.y)
    public = np.asarray(solution.is_public, dtype=bool)
    updates = []
    for split, mask in ((Split.PUBLIC, public), (Split.PRIVATE, ~public)):
        board = [e for e in entries if e.split == split]
        preds, kept = [], []
        for e in board:
            if not e.submission.predictions:
                continue
            with e.submission.predictions.open("rb") as fh:
                preds.append(load_pred(fh.read()))
            kept.append(e)
        if not kept or not mask.any():
            continue
        result = bootstrap_leaderboard(
            y=y,
            preds=preds,
            kind=task.kind,
            metric=task.primary_metric or None,
            n_resamples=n_resamples,
            seed=seed,
            rows=mask,
            is_baseline=[e.is_baseline for e in kept],
            keep_samples=True,
        )
        # Who is first reads the same resamples of the track's mean: kept for the next read.
        task_samples_store(
            task=task,
            split=split,
            metric=task.primary_metric or kind_get(task.kind).primary,
            submissions={e.team_id: e.submission for e in kept},
            samples=result.samples,
        )
        for e, interval in zip(kept, result.entries, strict=True):
            e.score_low, e.score_high = interval.score_low, interval.score_high
            e.rank_low, e.rank_high = interval.rank_low, interval.rank_high
            e.tied_with_best = interval.tied_with_best
            updates.append(e)
        entry_rank_sets_fill(entries=kept, result=result)
        entry_flips_fill(
            entries=kept,
            y=y,
            preds=preds,
            reference=primary,
            rows=mask,
            seed=seed,
            is_right=solution.is_right,
        )
    with transaction.atomic():
        current = set(LeaderboardEntry.objects.filter(task=task).values_list("id", "submission_id"))
        fresh = [e for e in updates if (e.id, e.submission_id) in current]
        LeaderboardEntry.objects.bulk_update(
            fresh,
            [*INTERVAL_FIELDS, *RANK_SET_FIELDS, *FLIP_FIELDS],
        )
        boards_changed_after_commit(task_id=task.pk, track_id=task.track_id)
