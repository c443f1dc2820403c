"""A task's board as pages and exports show it: entries, references, flip columns and the
update trade-off plot (docs/architecture.md §11). Reads only
(docs/architecture.md, House style: selectors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from algorithms.models import AlgorithmRun
from algorithms.stress_selectors import RobustnessState, robustness_states_for_submissions
from challenges.models import Track
from common.tradeoff_svg import TradeoffPoint, tradeoff_svg
from datasets.models import Task
from kinds import kind_get, metric_info
from leaderboard import selectors
from leaderboard.boards.references import board_with_references
from leaderboard.cache import board_cache
from leaderboard.core.flipboard import nfr_prize_eligible
from leaderboard.models import LeaderboardEntry
from leaderboard.statistics.consistency import entries_consistency
from scoring.reference_selectors import primary_reference, reference_list

CSV_REFERENCE_COLUMNS = (
    "reference",
    "nfr",
    "nfr_low",
    "nfr_high",
    "pfr",
    "pfr_low",
    "pfr_high",
    "opis",
    "prize_eligible",
)


@dataclass(frozen=True)
class TaskBoard:
    rows: list[Any]  # LeaderboardEntry and ReferenceRow, board order
    flips: bool  # the task has a primary reference to flip against
    primary_name: str | None
    prize_max_nfr: float | None
    tradeoff_svg: str
    # docs/organizers/stress.md: the kind's stress families give a robustness column; its
    # consistency columns (matching: transitivity_violations) one each.
    robustness: bool = False
    consistency: tuple[str, ...] = ()


def task_board(*, task: Task, split: str, entries: list | None = None) -> TaskBoard:
    """The board of ``task`` on ``split`` with its references merged in and entries marked
    ``prize_ineligible`` above the track's NFR limit; ``entries``: a phase's board ranked at
    read time (``leaderboard.boards.phase_read``) instead of the stored entries."""
    if entries is None:
        entries = selectors.leaderboard_for_task(task=task, split=split)
    rows = board_with_references(task=task, split=split, entries=entries)
    references = reference_list(task=task)
    primary = primary_reference(task=task, references=references)
    limit = task.track.prize_max_nfr
    submission_ids = [e.submission_id for e in entries]
    cpu = algorithm_cpu_seconds(submission_ids=submission_ids)
    robust = robustness_states_for_submissions(submission_ids=submission_ids, split=split)
    consistent = entries_consistency(task=task, submission_ids=submission_ids)
    stressed = bool(kind_get(task.kind).stress_families())
    for row in rows:
        row.prize_ineligible = row.rank is not None and not nfr_prize_eligible([row.nfr], limit)
        row.robustness, row.robustness_state = None, "needs_algorithm"
        row.robustness_reason = None
        row.transitivity_violations = None
        if isinstance(row, LeaderboardEntry):  # a reference's row has none
            row.cpu_seconds = cpu.get(row.submission_id)
            figures, state = robust.get(row.submission_id, (None, None))
            row.robustness = figures
            row.robustness_state, row.robustness_reason = robustness_state(
                state=state, stressed=stressed
            )
            row.transitivity_violations = (consistent.get(row.submission_id) or {}).get(
                "transitivity_violations"
            )
    flips = primary is not None and kind_get(task.kind).flips
    svg = ""
    if flips:
        base = primary.public_score if split == "public" else primary.private_score
        sign = metric_info(task.primary_metric).sign  # a gain is an improvement either way
        points = [
            TradeoffPoint(
                name=row.team.name,
                nfr=row.nfr,
                gain=sign * (row.score - base),
                ineligible=row.prize_ineligible,
            )
            for row in rows
            if row.rank is not None and row.nfr is not None and base is not None
        ]
        svg = tradeoff_svg(
            points,
            title=f"{task.title}: score gain over {primary.name} vs NFR ({split})",
            reference=primary.name,
            nfr_limit=limit,
        )
    return TaskBoard(
        rows=rows,
        flips=flips,
        primary_name=primary.name if primary is not None else None,
        prize_max_nfr=limit,
        tradeoff_svg=svg,
        robustness=stressed,
        consistency=tuple(kind_get(task.kind).consistency_columns),
    )


def robustness_state(*, state: RobustnessState | None, stressed: bool) -> tuple[str, str | None]:
    """What a board's robustness cell says, and why: ``ready`` (figures), ``pending`` (an
    algorithm's entry whose stress run is queued, running or about to be queued: moving, with
    a bound on the health page), ``failed`` (its stress run failed: final, with the run's
    error), ``needs_algorithm`` (a prediction file, ``state`` None: only a method the platform
    can run meets the copies) or ``none`` (no stress run comes: the kind has no stress, the
    task's plan is empty, the version is not in the benchmark...; with the reason)."""
    if state is None:
        return "needs_algorithm", None
    if not stressed:
        return "none", None
    return state.state, state.reason


def algorithm_cpu_seconds(*, submission_ids: list[int]) -> dict[int, float]:
    """CPU-seconds of the algorithm runs that made these submissions (cost beside quality,
    docs/architecture.md §12): an entry uploaded by a team has no run and no value."""
    return {
        submission_id: seconds
        for submission_id, seconds in AlgorithmRun.objects.filter(
            submission_id__in=submission_ids, cpu_seconds__isnull=False
        ).values_list("submission_id", "cpu_seconds")
    }


def task_board_cached(*, task: Task, split: str) -> TaskBoard:
    """:func:`task_board` from the board cache: one computation per board version, shared by
    the page, the CSV export and the API."""
    return board_cache.cached(
        scope=board_cache.TASK,
        pk=task.pk,
        parts=(
            "board",
            split,
        ),
        compute=lambda: task_board(task=task, split=split),
    )


def track_board_cached(*, track: Track, split: str) -> selectors.TrackBoard:
    """The track's board from the board cache (shared by the page, the CSV export and the
    API)."""
    return board_cache.cached(
        scope=board_cache.TRACK,
        pk=track.pk,
        parts=(
            "board",
            split,
        ),
        compute=lambda: selectors.leaderboard_for_track(track=track, split=split),
    )


def csv_reference_values(*, row: Any) -> list[Any]:
    """The CSV cells of ``CSV_REFERENCE_COLUMNS`` for one board row."""
    return [
        getattr(row, "reference", None) or "",
        row.nfr,
        row.nfr_low,
        row.nfr_high,
        row.pfr,
        row.pfr_low,
        row.pfr_high,
        getattr(row, "opis", None),
        "" if row.rank is None else not getattr(row, "prize_ineligible", False),
    ]
