"""Issue 38 on the track boards: a task no team has entered counts nowhere (and the page
says so), ties for first are split exactly, and the boards carry the pairwise comparisons;
issue 50: two teams uploading the same files are "equivalent" on the board and the page.
Real imported tasks, the real scorer and bootstrap (benchmark_world)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from challenges.models import Challenge
from leaderboard.core.benchmark.first import TeamPair, track_resample_draws
from leaderboard.core.benchmark.pairwise import GROUP_METHOD, ROWS_METHOD
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.selectors import track_values_of
from leaderboard.statistics.first import first_compute, verdict_words
from leaderboard.statistics.first_samples import task_samples
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)

from .benchmark_world import bench_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _board(world, split="public"):
    return APIClient().get(f"/api/v1/tracks/{world.track.slug}/leaderboard/?split={split}").json()


def _inputs(world, tasks, split="public"):
    entries = list(
        LeaderboardEntry.objects.filter(task__in=tasks, split=split).select_related("submission")
    )
    submissions = {t.slug: {} for t in tasks}
    slugs = {t.pk: t.slug for t in tasks}
    for e in entries:
        submissions[slugs[e.task_id]][e.team_id] = e.submission
    return entries, submissions


def test_a_task_no_team_has_entered_is_in_no_mean_and_the_page_says_so(tmp_path):
    world = bench_world(tmp_path)
    before = {e["team"]: e["score"] for e in _board(world)["entries"]}
    late = imported_task(tmp_path, challenge=world.challenge, slug="t-late", rows=60)
    assert late.track_id == world.track.pk
    cache.clear()

    board = _board(world)
    assert board["tasks"][-1] == "t-late" or "t-late" in board["tasks"]
    assert board["unranked_tasks"] == ["t-late"]
    after = {e["team"]: e["score"] for e in board["entries"]}
    assert after == pytest.approx(before)  # not divided by 4
    assert all("t-late" not in e["missing"] for e in board["entries"])
    page = Client().get(f"/tracks/{world.track.slug}/").content.decode()
    assert 'id="unranked-tasks"' in page and late.title in page
    assert "no team has an entry on it" in page


def test_two_teams_reading_the_same_predictions_are_first_exactly_half_each(tmp_path):
    # The crows' board entry on every task is given the owls' very submission: the two are
    # tied on every resample.
    world = bench_world(tmp_path)
    tasks = list(world.tasks.values())
    entries, submissions = _inputs(world, tasks)
    values = track_values_of(tasks=tasks, split="public", entries=entries)
    owls, crows, hawks = (world.teams[n].pk for n in ("owls", "crows", "hawks"))
    for slug in submissions:
        submissions[slug][crows] = submissions[slug][owls]
        values[slug][crows] = values[slug][owls]

    def first(teams):
        return first_compute(
            tasks=tasks,
            split="public",
            teams=teams,
            baselines=set(),
            values=values,
            submissions=submissions,
        )

    alone = first([owls, crows])
    assert alone.teams[owls].p_first == 0.5 and alone.teams[crows].p_first == 0.5
    (pair,) = alone.pairwise
    assert (pair.difference, pair.ci, pair.verdict) == (0.0, (0.0, 0.0), "equivalent")
    # With the hawks (first when t-two is drawn often), the two still split evenly.
    three = first([owls, crows, hawks])
    assert three.teams[owls].p_first == three.teams[crows].p_first > 0
    assert sum(t.p_first for t in three.teams.values()) == pytest.approx(1.0)


def test_a_tie_between_a_resampled_score_and_a_point_score_is_split_exactly(tmp_path):
    # The owls' entry on t-one is read from its file (row resamples); the crows' file is
    # gone, so they count their point score in every resample. Give the crows the owls'
    # score: in every resample where the owls' resampled accuracy equals it (the same
    # fraction k / n) the two tie. The old float32 store of the resamples put those ~1e-8
    # apart and handed every such tie to one team.
    world = bench_world(tmp_path)
    task = world.tasks["t-one"]
    entries, submissions = _inputs(world, [task])
    values = track_values_of(tasks=[task], split="public", entries=entries)
    owls, crows = world.teams["owls"].pk, world.teams["crows"].pk
    crows_submission = submissions["t-one"][crows]
    crows_submission.predictions = ""
    crows_submission.save(update_fields=["predictions"])
    values["t-one"][crows] = values["t-one"][owls]
    board = first_compute(
        tasks=[task],
        split="public",
        teams=[owls, crows],
        baselines=set(),
        values=values,
        submissions=submissions,
    )
    drawn = task_samples(task=task, split="public", submissions={owls: submissions["t-one"][owls]})[
        owls
    ]
    point = values["t-one"][owls]
    _, rows = track_resample_draws(
        n_tasks=1, n_row_resamples=drawn.size, n_resamples=board.n_resamples, seed=0
    )
    owls_values = drawn[rows[:, 0]]
    ties = int(np.sum(owls_values == point))
    assert ties > 0, "the fixture must hold resamples that tie"
    expected = (np.sum(owls_values > point) + 0.5 * ties) / board.n_resamples
    assert board.teams[owls].p_first == pytest.approx(expected, abs=1e-12)
    assert board.teams[owls].p_first + board.teams[crows].p_first == pytest.approx(1.0)


def test_the_track_api_carries_pairwise_verdicts_and_the_group_method(tmp_path):
    world = bench_world(tmp_path)
    board = _board(world)
    assert board["group_method"] == GROUP_METHOD and board["group_reason"] is None
    assert board["equivalence_margin"] == 0.005
    assert board["pairwise_basis"] == "tasks" and "3 per-task differences" in board["pairwise_note"]
    ranked = [e for e in board["entries"] if e["rank"] is not None]
    assert len(board["pairwise"]) == len(ranked) * (len(ranked) - 1) // 2
    order = {e["team"]: e["rank"] for e in ranked}
    for pair in board["pairwise"]:
        assert set(pair) >= {"a", "b", "difference", "ci", "verdict", "reason"}
        assert order[pair["a"]] < order[pair["b"]]
        low, high = pair["ci"]
        assert low <= pair["difference"] <= high
        assert pair["verdict"] in ("better", "worse", "equivalent", "undecided")
        assert (pair["verdict"] == "better") == (low > 0 and not high <= 0.005)
    for e in ranked:
        assert e["p_first_mc_error"] is not None and 0 <= e["p_first_mc_error"] < 0.05
    # the organizer's margin is the verdicts': "equivalent" exactly when the interval lies
    # within +-1 (on 3 tasks a pair whose lead swings from task to task may not)
    world.challenge.equivalence_margin = 1.0
    world.challenge.save(update_fields=["equivalence_margin"])
    cache.clear()
    wide = _board(world)
    assert wide["equivalence_margin"] == 1.0
    for pair in wide["pairwise"]:
        low, high = pair["ci"]
        assert (pair["verdict"] == "equivalent") == (low >= -1.0 and high <= 1.0)
    assert "equivalent" in {p["verdict"] for p in wide["pairwise"]}


def test_the_equivalence_margin_is_edited_in_the_console_and_kept_in_0_to_1(tmp_path, admin_client):
    world = bench_world(tmp_path)
    url = f"/admin/challenges/challenge/{world.challenge.pk}/change/"
    form = admin_client.get(url).content.decode()
    assert 'name="equivalence_margin"' in form and 'value="0.005"' in form
    for bad in (-0.001, 1.5):
        world.challenge.equivalence_margin = bad
        with pytest.raises(ValidationError, match="equivalence_margin"):
            world.challenge.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.filter(pk=world.challenge.pk).update(equivalence_margin=-1)


def _upload_and_score(participant, task, content: bytes) -> Submission:
    response = participant.api().post(
        f"/api/v1/tasks/{task.slug}/submissions/", {"file": upload(content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED  # the worker's
    return submission


def test_two_teams_uploading_the_same_files_are_equivalent_on_the_track_board(tmp_path):
    # Issue 50: byte-identical files on every task of a 4-task track gave a difference of
    # 0.0000 with [-0.0523, 0.0523] from one pooled width, never "equivalent". Each pair's
    # interval now comes from its own differences: exactly 0 on every task and every resample.
    challenge = ChallengeFactory(slug="twins", private_revealed=False)
    tasks = [
        imported_task(tmp_path, challenge=challenge, slug=f"twins-{i}", rows=200) for i in range(4)
    ]
    track = tasks[0].track
    people = {
        name: make_participant(challenge, username=name, name=name)
        for name in ("castor", "pollux", "helen")
    }
    for i, task in enumerate(tasks):
        same = csv_bytes(predictions_frame(task, wrong=0.2, seed=i))
        _upload_and_score(people["castor"], task, same)
        _upload_and_score(people["pollux"], task, same)
        other = csv_bytes(predictions_frame(task, wrong=0.2, seed=100 + i))
        _upload_and_score(people["helen"], task, other)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)

    board = _board(SimpleNamespace(track=track))
    assert board["pairwise_basis"] == "tasks" and board["group_method"] == GROUP_METHOD
    pairs = {frozenset((p["a"], p["b"])): p for p in board["pairwise"]}
    twins = pairs[frozenset(("castor", "pollux"))]
    assert (twins["difference"], twins["ci"], twins["verdict"]) == (0.0, [0.0, 0.0], "equivalent")
    assert twins["reason"] is None
    # Files as good but with other rows wrong are not equivalent within 0.005 on 4 tasks.
    for name in ("castor", "pollux"):
        apart = pairs[frozenset((name, "helen"))]
        assert apart["verdict"] != "equivalent" and apart["ci"][1] - apart["ci"][0] > 0.01
    groups = {e["team"]: e["group"] for e in board["entries"] if e["rank"] is not None}
    assert groups["castor"] == groups["pollux"]
    firsts = {e["team"]: e["p_first"] for e in board["entries"] if e["rank"] is not None}
    assert firsts["castor"] == firsts["pollux"]  # tied on every resample: split evenly

    page = Client().get(f"/tracks/{track.slug}/").content.decode()
    assert 'data-verdict="equivalent"' in page
    assert "castor and pollux differ by less than ±0.005 (the organizers&#x27; margin)" in page
    assert "from its own 4 per-task differences" in page


def test_each_verdict_is_written_as_what_it_means():
    def words(ci, verdict, basis="tasks", reason=None):
        pair = TeamPair(a=1, b=2, difference=0.0, ci=ci, verdict=verdict, reason=reason)
        return verdict_words(pair=pair, a="A", b="B", margin=0.005, basis=basis)

    assert words((0.01, 0.03), "better") == (
        "A is better than B on tasks like these: the whole interval lies above 0"
    )
    assert words((-0.002, 0.004), "equivalent") == (
        "A and B differ by less than ±0.005 (the organizers' margin) on tasks like these"
    )
    assert words((0.001, 0.004), "equivalent", basis="rows") == (
        "A is ahead of B on these tasks' test rows, but by less than ±0.005 (the organizers' "
        "margin)"
    )
    assert words((-0.01, 0.03), "undecided") == (
        "cannot tell A and B apart on tasks like these: the interval holds 0, and reaches "
        "beyond ±0.005 (the organizers' margin), so they are not shown equivalent either"
    )
    declined = words(None, "undecided", reason="nothing measures it")
    assert declined == "no interval: nothing measures it"


def test_a_track_of_one_task_says_its_verdicts_are_about_this_tasks_rows(tmp_path):
    # Like the demo's regression track: one task, no spread of tasks to measure. The pairs
    # get the row bootstrap's intervals, and the API, the page and the words say what they
    # are about.
    challenge = ChallengeFactory(slug="solo", private_revealed=False)
    task = imported_task(tmp_path, challenge=challenge, slug="solo-task", rows=400)
    people = {n: make_participant(challenge, username=n, name=n) for n in ("ann", "bob")}
    _upload_and_score(people["ann"], task, csv_bytes(predictions_frame(task, wrong=0.1, seed=1)))
    _upload_and_score(people["bob"], task, csv_bytes(predictions_frame(task, wrong=0.5, seed=2)))
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)

    board = _board(SimpleNamespace(track=task.track))
    assert board["pairwise_basis"] == "rows" and board["group_method"] == ROWS_METHOD
    assert board["pairwise_note"].startswith("a track of one task is too few")
    assert board["group_reason"] is None
    (pair,) = board["pairwise"]
    assert (pair["a"], pair["b"], pair["verdict"]) == ("ann", "bob", "better")
    assert [e["group"] for e in board["entries"] if e["rank"] is not None] == [1, 2]
    page = Client().get(f"/tracks/{task.track.slug}/").content.decode()
    assert "ann is better than bob on these tasks&#x27; test rows" in page
    assert "a claim about these tasks&#x27; rows only" in page
    assert "over resamples of the test rows within these tasks: about these tasks only" in page
