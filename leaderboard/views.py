"""Public leaderboard pages and CSV exports (no login needed for public boards)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from challenge_platform.models import Track
from common.export import rows_to_csv
from common.svg import history_chart_svg
from datasets.models import Task
from datasets.selectors import task_get_or_404
from kinds import kind_get, metric_info

from . import cache as board_cache
from . import selectors
from .benchmark import transfer_page_parts
from .boards import (
    CSV_REFERENCE_COLUMNS,
    TaskBoard,
    csv_reference_values,
    task_board_cached,
    track_board_cached,
)
from .first import FIRST_CSV_COLUMNS, first_csv_values, track_first
from .transfer import transfer_matrix, transfer_robustness


def _split(request: HttpRequest, challenge) -> str:
    """The asked-for split; a page hides what it cannot show (404, not 400/403)."""
    try:
        return selectors.split_requested(
            value=request.GET.get("split"), challenge=challenge, user=request.user
        )
    except selectors.SplitRefused as refused:
        raise Http404(refused.message) from None


def _task_board(task: Task, split: str) -> TaskBoard:
    """The task board with its references (shared by every viewer allowed ``split``)."""
    return task_board_cached(task=task, split=split)


def _track_board(track: Track, split: str) -> selectors.TrackBoard:
    return track_board_cached(track=track, split=split)


def _page(request: HttpRequest, scope: str, pk: int, challenge, split: str, render):
    """``board_cache.page`` with what the page shows of the private split: whether it links
    to it, and until when a shared page may be kept as it is (the scheduled reveal)."""
    link = selectors.private_visible(challenge=challenge, user=request.user)
    until = None
    if not challenge.private_visible() and challenge.reveal_at is not None:
        until = challenge.reveal_at.timestamp()
    return board_cache.page(request, scope, pk, split, render, private_link=link, valid_until=until)


def _metric_columns(task: Task, entries) -> list[str]:
    names: list[str] = [task.primary_metric]
    for e in entries:
        for name in e.metrics:
            if name not in names:
                names.append(name)
    return names


def task_leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    split = _split(request, task.track.challenge)
    return _page(
        request,
        board_cache.TASK,
        task.pk,
        task.track.challenge,
        split,
        lambda: _task_page(request, task, split),
    )


def _task_page(request: HttpRequest, task: Task, split: str) -> HttpResponse:
    challenge = task.track.challenge
    board = _task_board(task, split)
    entries = board.rows
    metrics = _metric_columns(task, entries)
    rows = [(e, [e.metrics.get(m) for m in metrics]) for e in entries]
    metric = metric_info(task.primary_metric)
    chart = history_chart_svg(
        selectors.history_series(task=task),
        title=f"{task.title}: best public {task.primary_metric} over time",
        y_label=metric.label,
        higher_is_better=metric.higher_is_better,
    )
    return render(
        request,
        "leaderboard/task_leaderboard.html",
        {
            "task": task,
            "task_kind": kind_get(task.kind),
            "challenge": challenge,
            "split": split,
            "rows": rows,
            "metrics": metrics,  # names; the template shows each label and direction
            "private_visible": selectors.private_visible(challenge=challenge, user=request.user),
            "chart": mark_safe(chart),  # noqa: S308 - built by common.svg, which escapes all text
            "tied_any": any(e.tied_with_best for e in entries),
            "flips": board.flips,
            "primary_name": board.primary_name,
            "prize_max_nfr": board.prize_max_nfr,
            "tradeoff": mark_safe(board.tradeoff_svg),  # noqa: S308 - common.svg escapes all text
            "robustness": board.robustness,
            "transitivity": "transitivity_violations" in board.consistency,
        },
    )


def task_leaderboard_csv(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    split = _split(request, task.track.challenge)
    entries = _task_board(task, split).rows
    # OPIS is one of the scores and also a reference column: written once, with the latter.
    metrics = [m for m in _metric_columns(task, entries) if m not in CSV_REFERENCE_COLUMNS]
    header = [
        "position",
        "rank",
        "team",
        "is_baseline",
        "score",
        "score_low",
        "score_high",
        "rank_low",
        "rank_high",
        "tied_with_best",
        *metrics,
        "submissions",
        "last_submission_at",
        *CSV_REFERENCE_COLUMNS,
        "cpu_seconds",  # of the algorithm run behind the entry; empty for an uploaded file
    ]
    body = rows_to_csv(
        header,
        (
            [
                e.position,
                e.rank,
                e.team.name,
                e.is_baseline,
                e.score,
                e.score_low,
                e.score_high,
                e.rank_low,
                e.rank_high,
                e.tied_with_best,
                *[e.metrics.get(m) for m in metrics],
                e.submission_count,
                e.last_submission_at.isoformat() if e.last_submission_at else "",
                *csv_reference_values(e),
                getattr(e, "cpu_seconds", None),
            ]
            for e in entries
        ),
    )
    return _csv_response(body, f"{task.slug}-{split}-leaderboard.csv")


def track_leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    split = _split(request, track.challenge)
    return _page(
        request,
        board_cache.TRACK,
        track.pk,
        track.challenge,
        split,
        lambda: _track_page(request, track, split),
    )


def _track_page(request: HttpRequest, track: Track, split: str) -> HttpResponse:
    board = _track_board(track, split)
    first = track_first(track=track, split=split)
    rows = [
        (
            row,
            board.teams[row.team_id],
            [(row.task_scores.get(t.slug), row.task_ranks.get(t.slug)) for t in board.tasks],
            row.team_id in board.prize_ineligible,
            first.get(row.team_id),
        )
        for row in board.rows
    ]
    matrix = []
    if board.matrix is not None:
        for team_id in board.matrix.team_ids:
            cells = [board.matrix.cells[team_id].get(t.slug) for t in board.tasks]
            matrix.append((board.teams[team_id], cells))
    return render(
        request,
        "leaderboard/track_leaderboard.html",
        {
            "track": track,
            "challenge": track.challenge,
            "split": split,
            "tasks": board.tasks,
            "rows": rows,
            "matrix": matrix,
            "baseline_scores": [board.baseline_scores.get(t.slug) for t in board.tasks],
            "confidence_percent": f"{100 * track.challenge.confidence_level:g}",
            # tasks whose score is not what they add to the mean (regression: R²)
            "track_notes": [
                (t, kind_get(t.kind).track_note) for t in board.tasks if kind_get(t.kind).track_note
            ],
            "prize_ineligible": board.prize_ineligible,
            "private_visible": selectors.private_visible(
                challenge=track.challenge, user=request.user
            ),
        },
    )


def _robustness_rows(matrix) -> list:
    """The transfer matrix's robustness view (docs/stress.md): per algorithm, its stress
    figures on each task."""
    shown = transfer_robustness(matrix)
    return [
        (row, [shown.get(run.pk) if run is not None else None for run in row.runs])
        for row in matrix.rows
    ]


def track_transfer(request: HttpRequest, slug: str) -> HttpResponse:
    """The track's transfer matrix: algorithms x tasks, score minus baseline (DESIGN §9);
    public like the track's board, the private split only for whom it may show."""
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    split = _split(request, track.challenge)
    matrix = transfer_matrix(track=track, split=split)
    page = transfer_page_parts(matrix)
    return render(
        request,
        "leaderboard/transfer.html",
        {
            "track": track,
            "challenge": track.challenge,
            "split": split,
            "matrix": matrix,
            "rows": [(row, list(zip(row.cells, row.runs, strict=True))) for row in matrix.rows],
            "decomposition": page.decomposition,
            "effects_svg": mark_safe(page.effects_svg),  # noqa: S308 - common.svg escapes text
            "frontier": page.frontier,
            "frontier_svg": mark_safe(page.frontier_svg),  # noqa: S308 - the same
            "private_visible": selectors.private_visible(
                challenge=track.challenge, user=request.user
            ),
            "robustness_rows": _robustness_rows(matrix),
        },
    )


def track_leaderboard_csv(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    split = _split(request, track.challenge)
    board = _track_board(track, split)
    header = [
        "position",
        "rank",
        "team",
        "is_baseline",
        "mean_score",
        *[f"{t.slug}_score" for t in board.tasks],
        *[f"{t.slug}_rank" for t in board.tasks],
        "missing",
        *FIRST_CSV_COLUMNS,
    ]
    first = track_first(track=track, split=split)
    body = rows_to_csv(
        header,
        (
            [
                r.position,
                r.rank,
                board.teams[r.team_id].name,
                r.is_baseline,
                r.mean_score,
                *[r.task_scores.get(t.slug) for t in board.tasks],
                *[r.task_ranks.get(t.slug) for t in board.tasks],
                " ".join(r.missing),
                *first_csv_values(first.get(r.team_id)),
            ]
            for r in board.rows
        ),
    )
    return _csv_response(body, f"{track.slug}-{split}-leaderboard.csv")


@staff_member_required
def task_shakeup(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    return render(
        request,
        "leaderboard/shakeup.html",
        {
            "task": task,
            "rows": selectors.shakeup_for_task(task=task),
            "revealed": task.track.challenge.private_visible(),
        },
    )


def _csv_response(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
