"""Task and track boards on hand-built cases: ranks, ties, baseline, finals, reveal, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.builtin import baseline_algorithm_version
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import SubmissionStatus
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory

from .factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


def board(task, split="public"):
    return list(
        LeaderboardEntry.objects.filter(task=task, split=split)
        .order_by("position")
        .values_list("team__name", "rank", "score")
    )


@pytest.fixture
def setup():
    challenge = ChallengeFactory(slug="c")
    track = TrackFactory(challenge=challenge, slug="trk")
    task = make_task(track, slug="t1")
    teams = {n: make_team(challenge, n) for n in ("ann", "bo", "cy")}
    teams["base"] = make_team(challenge, "AutoGluon", baseline=True)
    return challenge, track, task, teams


def test_ranks_best_submission_ties_to_earlier_and_baseline_unranked(setup):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.70, minutes=1)
    scored(task, teams["ann"], 0.80, minutes=5)  # ann's best
    scored(task, teams["bo"], 0.80, minutes=3)  # same score, earlier -> above ann
    scored(task, teams["cy"], 0.60, minutes=2)
    scored(task, teams["cy"], 0.99, minutes=9, status="failed")  # failed: ignored
    scored(task, teams["base"], 0.75, minutes=0)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    assert board(task) == [
        ("bo", 1, 0.80),
        ("ann", 2, 0.80),
        ("AutoGluon", None, 0.75),
        ("cy", 3, 0.60),
    ]
    api = APIClient().get("/api/v1/tasks/t1/leaderboard/").json()
    assert [(e["rank"], e["team"], e["is_baseline"]) for e in api["entries"]] == [
        (1, "bo", False),
        (2, "ann", False),
        (None, "AutoGluon", True),
        (3, "cy", False),
    ]
    ann = next(e for e in api["entries"] if e["team"] == "ann")
    assert ann["submission_count"] == 2 and ann["metrics"] == {"accuracy": 0.80}


def test_hidden_team_and_hidden_submission_leave_the_board(setup):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.9)
    best_bo = scored(task, teams["bo"], 0.95)
    scored(task, teams["bo"], 0.5)
    best_bo.is_hidden = True
    best_bo.save()
    teams["cy"].is_hidden = True
    teams["cy"].save()
    scored(task, teams["cy"], 0.99)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    assert board(task) == [("ann", 1, 0.9), ("bo", 2, 0.5)]


def test_final_selection_rules_drive_the_private_board(setup):
    challenge, track, task, teams = setup
    # ann selects a weaker public submission as final: its private score is what counts.
    scored(task, teams["ann"], 0.90, 0.60, minutes=1)
    scored(task, teams["ann"], 0.70, 0.95, minutes=2, final=True)
    # bo selects nothing: its best two public submissions count, best private among them.
    scored(task, teams["bo"], 0.85, 0.70, minutes=1)
    scored(task, teams["bo"], 0.80, 0.90, minutes=2)
    scored(task, teams["bo"], 0.50, 0.99, minutes=3)  # third-best public: not a final
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    assert board(task, "private") == [("ann", 1, 0.95), ("bo", 2, 0.90)]
    assert board(task, "public") == [("ann", 1, 0.90), ("bo", 2, 0.85)]


def test_private_hidden_before_reveal_and_shown_after(setup):
    challenge, track, task, teams = setup
    scored(task, teams["ann"], 0.9, 0.8)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    participant = get_user_model().objects.create_user("p", password="x")
    organizer = get_user_model().objects.create_user("o", password="x", is_staff=True)
    client = APIClient()
    assert client.get("/api/v1/tasks/t1/leaderboard/?split=private").status_code == 403
    client.force_authenticate(participant)
    response = client.get("/api/v1/tasks/t1/leaderboard/?split=private")
    assert response.status_code == 403 and "hidden" in response.json()["detail"]
    assert client.get("/tasks/t1/leaderboard/?split=private").status_code == 404
    client.force_authenticate(organizer)
    assert (
        client.get("/api/v1/tasks/t1/leaderboard/?split=private").json()["entries"][0]["score"]
        == 0.8
    )
    challenge.private_revealed = True
    challenge.save()
    anonymous = APIClient().get("/api/v1/tasks/t1/leaderboard/?split=private")
    assert anonymous.status_code == 200 and anonymous.json()["entries"][0]["score"] == 0.8


def test_track_mean_counts_missing_tasks_as_zero(setup):
    challenge, track, task, teams = setup
    task2 = make_task(track, slug="t2")
    scored(task, teams["ann"], 1.0)  # ann: only task 1 -> mean 0.5
    scored(task, teams["bo"], 0.6)
    scored(task2, teams["bo"], 0.6)  # bo: 0.6 on both -> mean 0.6
    scored(task, teams["base"], 0.7)
    scored(task2, teams["base"], 0.7)
    for t in (task, task2):
        task_leaderboard_refresh(task_id=t.pk, bootstrap=False)
    body = APIClient().get("/api/v1/tracks/trk/leaderboard/").json()
    assert body["tasks"] == ["t1", "t2"]
    rows = [(e["team"], e["rank"], round(e["score"], 6), e["missing"]) for e in body["entries"]]
    assert rows == [("AutoGluon", None, 0.7, []), ("bo", 1, 0.6, []), ("ann", 2, 0.5, ["t2"])]
    page = APIClient().get("/tracks/trk/").content.decode()
    assert "missing" in page and "Cross-task matrix" in page


def test_a_queued_or_running_cell_is_shown_so_and_never_counted_as_zero(setup):
    """Issue 50: the baseline's runs on t2 and t3 wait in the queue, ann's file on t2 is
    being scored; the means leave those cells out (marked partial) instead of counting 0."""
    challenge, track, task, teams = setup
    task2, task3 = make_task(track, slug="t2"), make_task(track, slug="t3")
    version = baseline_algorithm_version(challenge=challenge)
    base = version.algorithm.team
    scored(task, base, 0.9)
    scored(task, teams["ann"], 0.6)
    scored(task2, teams["bo"], 0.5)
    scored(task3, teams["bo"], 0.4)
    scored(task2, teams["ann"], None, status=SubmissionStatus.SCORING)
    for t, status in ((task2, AlgorithmRunStatus.QUEUED), (task3, AlgorithmRunStatus.RUNNING)):
        AlgorithmRun.objects.create(version=version, task=t, profile="baseline", status=status)
    # A stress run is no entry: it never makes a cell pending.
    AlgorithmRun.objects.create(
        version=version, task=task3, profile="baseline_stress", status=AlgorithmRunStatus.QUEUED
    )
    for t in (task, task2, task3):
        task_leaderboard_refresh(task_id=t.pk, bootstrap=False)

    body = APIClient().get("/api/v1/tracks/trk/leaderboard/").json()
    entries = {e["team"]: e for e in body["entries"]}
    baseline = entries[base.name]
    assert baseline["score"] == pytest.approx(0.9) and baseline["partial"] is True
    assert baseline["cells"] == {"t1": "scored", "t2": "queued", "t3": "running"}
    assert baseline["missing"] == []
    ann = entries["ann"]  # t2 being scored (left out), t3 missing (counts 0)
    assert ann["score"] == pytest.approx(0.3) and ann["partial"] is True
    assert ann["cells"] == {"t1": "scored", "t2": "running", "t3": "missing"}
    assert ann["missing"] == ["t3"]
    bo = entries["bo"]
    assert bo["score"] == pytest.approx(0.3) and bo["partial"] is False
    assert bo["cells"] == {"t1": "missing", "t2": "scored", "t3": "scored"}

    page = APIClient().get("/tracks/trk/").content.decode()
    row = page[page.index(f"<td>{base.name}") :]
    row = row[: row.index("</tr>")]
    assert 'data-role="partial"' in row
    assert 'data-cell="queued"' in row and 'data-cell="running"' in row and "missing" not in row

    # The queued run fails: the cell is missing again and counts 0 (in a worker the failure
    # also bumps the cached boards: hooks.AlgorithmRunFailed).
    AlgorithmRun.objects.filter(task=task2, profile="baseline").update(
        status=AlgorithmRunStatus.FAILED
    )
    body = APIClient().get("/api/v1/tracks/trk/leaderboard/").json()
    baseline = {e["team"]: e for e in body["entries"]}[base.name]
    assert baseline["cells"]["t2"] == "missing" and baseline["missing"] == ["t2"]
    assert baseline["score"] == pytest.approx(0.45)  # (0.9 + 0) / 2, t3 still running


def test_csv_export_neutralizes_formulas(setup):
    challenge, track, task, teams = setup
    evil = make_team(challenge, '=HYPERLINK("http://x")')
    scored(task, evil, 0.5)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    response = APIClient().get("/tasks/t1/leaderboard.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["position", "rank", "team"]
    assert rows[1][2].startswith("'=")


def test_csv_export_names_each_column_once(setup):
    """OPIS is a metric of the scores and a reference column of the board: one column."""
    challenge, track, task, teams = setup
    for name, value, opis in (("ann", 0.8, 0.012), ("bo", 0.7, 0.034)):
        sub = scored(task, teams[name], value)
        sub.scores = {
            split: {task.primary_metric: value, "macro_f1": value - 0.1, "opis": opis}
            for split in ("public", "private", "all")
        }
        sub.save(update_fields=["scores"])
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    response = APIClient().get("/tasks/t1/leaderboard.csv")
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(header) == len(set(header)), sorted(c for c in header if header.count(c) > 1)
    assert {task.primary_metric, "macro_f1", "opis"} <= set(header)
    by_team = {row[header.index("team")]: dict(zip(header, row, strict=True)) for row in rows}
    assert float(by_team["ann"]["opis"]) == pytest.approx(0.012)
    assert float(by_team["bo"]["macro_f1"]) == pytest.approx(0.6)


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/t1/leaderboard/",
        "/tracks/trk/",
        "/api/v1/tasks/t1/leaderboard/",
        "/api/v1/tracks/trk/leaderboard/",
    ],
)
def test_pages_use_a_constant_number_of_queries(
    setup, path, django_assert_max_num_queries, settings
):
    from django.db import connection

    settings.BOARD_CACHE = False  # the queries of computing a board, not of a cache hit
    from django.test.utils import CaptureQueriesContext

    challenge, track, task, teams = setup
    from scoring.models import Submission

    def add(n: int) -> None:
        Submission.objects.bulk_create(
            [
                Submission(
                    task=task,
                    team=teams[("ann", "bo", "cy")[i % 3]],
                    file="x",
                    status="scored",
                    public_score=(i % 97) / 100,
                    private_score=0.5,
                    scores={},
                )
                for i in range(n)
            ]
        )
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)

    client = APIClient()
    add(10)
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    add(10_000)
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as large:
        assert client.get(path).status_code == 200
    assert len(large) == len(small)
