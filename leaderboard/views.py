"""Public leaderboard pages and CSV exports (no login needed for public boards)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from challenges.models import Track
from challenges.split_access import ReaderSplit, page_split
from common import board_modes
from common.export import rows_to_csv
from common.svg import history_chart_svg
from datasets.models import Task
from datasets.selectors import task_get_or_404
from kinds import kind_get, metric_info

from . import selectors
from .boards.ladder import ladder_resolution, task_board_mode
from .boards.phase_params import page_board_read, phase_context
from .boards.phase_read import BoardRead, phase_track_board, phase_track_rank_sets
from .boards.read import (
    CSV_REFERENCE_COLUMNS,
    TaskBoard,
    csv_reference_values,
    track_board_cached,
)
from .boards.shakeup_panel import shakeup_panel
from .boards.shown import board_hides, hidden_phases, hidden_tasks, task_board_for
from .boards.track_rank_sets import track_rank_sets
from .boards.track_shown import track_first_for
from .cache import board_cache, transfer_cache
from .core.rank_sets import team_rank_set_fields
from .statistics.first import (
    EMPTY,
    FIRST_CSV_COLUMNS,
    PAIRWISE_MAX_TEAMS,
    first_csv_values,
    first_page_parts,
)
from .transfer.baselines import task_baseline_states
from .transfer.benchmark import cell_interval, transfer_page_parts
from .transfer.matrix import transfer_matrix
from .transfer.shown import (
    baseline_states,
    shown_cells,
    transfer_robustness,
    withheld_note,
    withheld_view,
)


def _task_board(task: Task, split: str, user) -> TaskBoard:
    """The task board with its references (cached for every viewer allowed ``split``), as
    ``user`` may see it (a ladder board's public split: ``leaderboard.boards.shown``)."""
    return task_board_for(task=task, split=split, user=user)


def _track_board(track: Track, split: str) -> selectors.TrackBoard:
    return track_board_cached(track=track, split=split)


def _page(
    request: HttpRequest, scope: str, pk: int, challenge, shown: ReaderSplit, render, *, read
):
    """``board_cache.page`` with what the page shows of the private split: whether it links
    to it, and until when a shared page may be kept as it is (the scheduled reveal); the
    phase ``read`` is part of the key (``?phase=``)."""
    until = None
    if not challenge.private_visible() and challenge.reveal_at is not None:
        until = challenge.reveal_at.timestamp()
    return board_cache.page(
        request=request,
        scope=scope,
        pk=pk,
        split=read.parts(shown.split),
        render=render,
        private_link=shown.private_visible,
        valid_until=until,
    )


def _metric_columns(task: Task, entries) -> list[str]:
    """The board's metric columns: the primary metric, then the others the entries hold in
    the order the task's kind declares them (any it does not declare last, by name). Not in
    the stored scores' order, which is the database's: PostgreSQL's ``jsonb`` gives an
    object's keys back by length and name, SQLite as they were written."""
    held = {name for e in entries for name in e.metrics} - {task.primary_metric}
    declared = [m.name for m in kind_get(task.kind).metrics if m.name in held]
    return [task.primary_metric, *declared, *sorted(held - set(declared))]


def task_leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    shown = page_split(request=request, challenge=task.track.challenge)
    read = page_board_read(request=request, challenge=task.track.challenge)
    return _page(
        request,
        board_cache.TASK,
        task.pk,
        task.track.challenge,
        shown,
        lambda: _task_page(request, task, shown, read),
        read=read,
    )


def _task_page(
    request: HttpRequest, task: Task, shown: ReaderSplit, read: BoardRead
) -> HttpResponse:
    challenge = task.track.challenge
    split = shown.split
    board = task_board_for(task=task, split=split, user=request.user, read=read)
    entries = board.rows
    mode = task_board_mode(task=task)
    laddered = split == "public" and mode != board_modes.PLAIN
    hides = board_hides(task=task, split=split, user=request.user)
    step = ladder_resolution(task=task) if laddered else None
    metrics = _metric_columns(task, entries)
    rows = [(e, [e.metrics.get(m) for m in metrics]) for e in entries]
    metric = metric_info(task.primary_metric)
    chart = history_chart_svg(
        selectors.history_series(task=task),
        title=f"{task.title}: {'shown' if mode != board_modes.PLAIN else 'best'} public "
        f"{task.primary_metric} over time",
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
            "private_visible": shown.private_visible,
            "chart": mark_safe(chart),  # noqa: S308 - built by common.svg, which escapes all text
            "tied_any": any(e.tied_with_best for e in entries),
            "flips": board.flips,
            "primary_name": board.primary_name,
            "prize_max_nfr": board.prize_max_nfr,
            "tradeoff": mark_safe(board.tradeoff_svg),  # noqa: S308 - common.svg escapes all text
            "robustness": board.robustness,
            "transitivity": "transitivity_violations" in board.consistency,
            "mode": mode,
            "laddered": laddered,
            "exact_column": laddered and not hides,
            # a phase's board ranked at read time has no bootstrap (leaderboard.boards.phase_read)
            "intervals": not hides and read.maintained,
            "tiers": any(getattr(e, "tier", None) for e in entries),
            "ladder_step": None if step is None else f"{step:g}",
            **phase_context(read=read),
        },
    )


def task_leaderboard_csv(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    split = page_split(request=request, challenge=task.track.challenge).split
    read = page_board_read(request=request, challenge=task.track.challenge)
    entries = task_board_for(task=task, split=split, user=request.user, read=read).rows
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
        # docs/decisions/0069-simultaneous-rank-sets.md: the simultaneous rank set and tier
        "rank_set_low",
        "rank_set_high",
        "tier",
        *metrics,
        "submissions",
        "last_submission_at",
        *CSV_REFERENCE_COLUMNS,
        # docs/organizers/ladder.md: the shown score, whether the entry climbed, and for organizers
        # on a ladder board its exact score.
        "shown_score",
        "climbed",
        "exact_score",
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
                e.rank_set_low,
                e.rank_set_high,
                getattr(e, "tier", None),
                *[e.metrics.get(m) for m in metrics],
                e.submission_count,
                e.last_submission_at.isoformat() if e.last_submission_at else "",
                *csv_reference_values(row=e),
                e.shown_score,
                e.climbed,
                e.exact_score,
                getattr(e, "cpu_seconds", None),
            ]
            for e in entries
        ),
    )
    phase = f"-{read.slug}" if read.phases[1:] else ""
    return _csv_response(body, f"{task.slug}{phase}-{split}-leaderboard.csv")


def track_leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    shown = page_split(request=request, challenge=track.challenge)
    read = page_board_read(request=request, challenge=track.challenge)
    return _page(
        request,
        board_cache.TRACK,
        track.pk,
        track.challenge,
        shown,
        lambda: _track_page(request, track, shown, read),
        read=read,
    )


def _track_parts(track: Track, split: str, read: BoardRead, user):
    """The track's board, its P(first) board and its rank sets as ``read`` reads them (a
    phase the boards do not maintain: ranked at read time, without comparisons)."""
    if read.maintained:
        board = _track_board(track, split)
        return (
            board,
            track_first_for(track=track, split=split, user=user),
            track_rank_sets(track=track, split=split),
        )
    return phase_track_board(track=track, split=split, read=read), EMPTY, phase_track_rank_sets()


def _track_page(
    request: HttpRequest, track: Track, shown: ReaderSplit, read: BoardRead
) -> HttpResponse:
    split = shown.split
    board, first_board, sets = _track_parts(track, split, read, request.user)
    first = first_board.teams
    confidence = f"{100 * track.challenge.confidence_level:g}"
    comparisons = first_page_parts(
        board=first_board,
        order=[row.team_id for row in board.rows if row.rank is not None],
        names={tid: team.name for tid, team in board.teams.items()},
        means={row.team_id: row.mean_score for row in board.rows},
        title=f"{track.title}: which teams can be told apart ({split} rows, {confidence}%)",
        level=f"each pair's paired differences, Bonferroni, {confidence}%",
    )
    rows = [
        (
            row,
            board.teams[row.team_id],
            [
                (row.task_scores.get(t.slug), row.task_ranks.get(t.slug), row.cells.get(t.slug))
                for t in board.tasks
            ],
            row.team_id in board.prize_ineligible,
            first.get(row.team_id),
            team_rank_set_fields(sets, row.team_id),
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
            # The baseline's score per task, or where its run stands (queued, running...).
            "baseline_scores": _baseline_scores(board),
            "confidence_percent": confidence,
            "first_board": first_board,
            "cd_svg": mark_safe(comparisons.cd_svg),  # noqa: S308 - common.svg escapes text
            "comparisons": comparisons,
            "pairwise_max_teams": PAIRWISE_MAX_TEAMS,
            "unranked_tasks": [t for t in board.tasks if t.slug in board.unranked],
            "ranked_count": len(board.tasks) - len(board.unranked),
            # tasks whose score is not what they add to the mean (regression: R²)
            "track_notes": [
                (t, kind_get(t.kind).track_note) for t in board.tasks if kind_get(t.kind).track_note
            ],
            "prize_ineligible": board.prize_ineligible,
            "private_visible": shown.private_visible,
            "rank_sets": bool(sets.sets),
            "rank_set_reason": sets.reason,
            **phase_context(read=read),
        },
    )


def _baseline_scores(board) -> list[tuple[float | None, object]]:
    """Per task of a track board: the baseline's score and where its run stands."""
    scores = [board.baseline_scores.get(t.slug) for t in board.tasks]
    scored = {t.pk for t, score in zip(board.tasks, scores, strict=True) if score is not None}
    return list(zip(scores, task_baseline_states(tasks=board.tasks, scored=scored), strict=True))


def _robustness_rows(matrix) -> list:
    """The transfer matrix's robustness view (docs/organizers/stress.md): per algorithm, its stress
    figures on each task (``{"withheld": why}`` where the matrix withholds the cell: its clean
    score is a ladder board's exact public score)."""
    shown = transfer_robustness(matrix=matrix)
    return [
        (
            row,
            [
                None
                if run is None
                else {"withheld": matrix.withheld_cell(task, row.algorithm, run)}
                if matrix.withholds(task, row.algorithm, run)
                else shown.get(run.pk)
                for task, run in zip(matrix.tasks, row.runs, strict=True)
            ],
        )
        for row in matrix.rows
    ]


def _transfer_rows_html(matrix) -> list:
    """Each row of the transfer matrix's table, rendered (kept by what it shows: a new cell
    renders its row again, not the 20,000 cells)."""
    contexts = []
    for row in matrix.rows:
        cells = [
            (cell, cell_interval(cell=cell.cell)) for cell in shown_cells(matrix=matrix, row=row)
        ]
        shows = (
            row.algorithm.name,
            row.algorithm.team.name,
            row.mean_delta,
            row.mean_score,
            row.covered,
            len(matrix.tasks),
            [
                (
                    c.cell and (c.cell.delta, c.cell.delta_low, c.cell.delta_high, c.cell.score),
                    interval["ci"],
                    interval["reason"],
                    c.run and (c.run.status, c.failure, c.run.is_organizer_run, c.run.cpu_seconds),
                    c.score,
                    c.reason,
                )
                for c, interval in cells
            ],
        )
        contexts.append((shows, {"row": row, "cells": cells, "matrix": matrix}))
    return [
        mark_safe(html)  # noqa: S308 - rendered by the row's template
        for html in transfer_cache.fragments(
            template="leaderboard/transfer_row.html", contexts=contexts
        )
    ]


def _robustness_rows_html(matrix) -> list:
    """Each row of the robustness view, rendered (kept by what it shows)."""
    contexts = [
        ((row.algorithm.name, row.algorithm.team.name, figures), {"row": row, "figures": figures})
        for row, figures in _robustness_rows(matrix)
    ]
    return [
        mark_safe(html)  # noqa: S308 - rendered by the row's template
        for html in transfer_cache.fragments(
            template="leaderboard/transfer_robustness_row.html", contexts=contexts
        )
    ]


def track_transfer(request: HttpRequest, slug: str) -> HttpResponse:
    """The track's transfer matrix: algorithms x tasks, score minus baseline
    (docs/architecture.md §9); public like the track's board, the private split only for
    whom it may show. Its sections are rendered once per matrix and split
    (``leaderboard.cache.transfer_cache``); the header around them per request."""
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    shown = page_split(request=request, challenge=track.challenge)
    split = shown.split
    # A ladder board's cells are withheld from whom it hides exact public scores
    # (docs/organizers/ladder.md): which ones is part of the kept sections' key.
    tasks = list(track.tasks.all())
    hidden = frozenset(hidden_tasks(tasks=tasks, split=split, user=request.user))
    blind = hidden_phases(tasks=tasks, user=request.user)  # a blind phase's cells (0066)

    def sections() -> tuple[str, bool]:
        matrix = transfer_matrix(track=track, split=split, hidden=hidden, hidden_phases=blind)
        page = transfer_page_parts(matrix=matrix)
        html = render_to_string(
            "leaderboard/transfer_sections.html",
            {
                "track": track,
                "challenge": track.challenge,
                "split": split,
                "matrix": matrix,
                "row_html": _transfer_rows_html(matrix),
                "task_baselines": list(
                    zip(matrix.tasks, baseline_states(matrix=matrix), strict=True)
                ),
                "decomposition": page.decomposition,
                "decomposed": page.decomposed,
                "effects_svg": mark_safe(page.effects_svg),  # noqa: S308 - common.svg escapes
                "frontier": page.frontier,
                "frontier_svg": mark_safe(page.frontier_svg),  # noqa: S308 - the same
                "private_visible": shown.private_visible,
                "robustness_html": _robustness_rows_html(matrix),
                "withheld": withheld_note(matrix=matrix),
            },
        )
        return html, not page.decomposition["updating"]

    # The other split's link is part of the sections: a reveal changes them. An edited
    # template is a miss.
    html = transfer_cache.kept(
        track=track,
        parts=(
            "page",
            split,
            str(int(shown.private_visible)),
            withheld_view(hidden=hidden, phases=blind),
            transfer_cache.template_digest(name="leaderboard/transfer_sections.html"),
        ),
        compute=sections,
    )
    return render(
        request,
        "leaderboard/transfer.html",
        {
            "track": track,
            "challenge": track.challenge,
            "split": split,
            "sections": mark_safe(html),  # noqa: S308 - rendered by the template above
        },
    )


def track_leaderboard_csv(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    split = page_split(request=request, challenge=track.challenge).split
    read = page_board_read(request=request, challenge=track.challenge)
    board, first_board, sets = _track_parts(track, split, read, request.user)
    header = [
        "position",
        "rank",
        "team",
        "is_baseline",
        "mean_score",
        *[f"{t.slug}_score" for t in board.tasks],
        *[f"{t.slug}_rank" for t in board.tasks],
        "missing",
        "rank_set_low",  # docs/decisions/0069-simultaneous-rank-sets.md
        "rank_set_high",
        "tier",
        *FIRST_CSV_COLUMNS,
    ]
    first = first_board.teams
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
                *(sets.sets.get(r.team_id) or (None, None)),
                team_rank_set_fields(sets, r.team_id)["tier"],
                *first_csv_values(first=first.get(r.team_id)),
            ]
            for r in board.rows
        ),
    )
    phase = f"-{read.slug}" if read.phases[1:] else ""
    return _csv_response(body, f"{track.slug}{phase}-{split}-leaderboard.csv")


@staff_member_required
def task_shakeup(request: HttpRequest, slug: str) -> HttpResponse:
    task = task_get_or_404(slug=slug)
    revealed = task.track.challenge.private_visible()
    return render(
        request,
        "leaderboard/shakeup.html",
        {
            "task": task,
            "panel": shakeup_panel(task=task, revealed=revealed),
            "revealed": revealed,
        },
    )


def _csv_response(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
