"""The board modes' defaults and the console (docs/organizers/ladder.md): new tasks start in
``ladder`` (``PUBLIC_BOARD_DEFAULT``), existing ones kept ``plain`` through the migration, a metric
without a statistic keeps its board plain; organizers set the mode in the console, audited, the
board rebuilt under it at once; the shake-up page shows what the panel computes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from rest_framework.test import APIClient

from challenges.models import AuditEvent
from datasets.models import Task
from datasets.services import task_import
from leaderboard.models import LadderStep, LeaderboardEntry
from scoring.models import Submission
from testkit.bundles import (
    write_classification_bundle,
    write_matching_bundle,
    write_regression_bundle,
)
from tests.leaderboard_tests.ladder_world import random_label_task, upload
from tests.scoring_tests.factories import ChallengeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _organizer() -> Client:
    client = Client()
    client.force_login(UserFactory(username="org", is_staff=True, is_superuser=True))
    return client


@pytest.mark.skipif("PUBLIC_BOARD_DEFAULT" in os.environ, reason="the default is overridden")
def test_the_production_default_is_ladder_step():
    from challenge_platform.settings import base

    assert base.PUBLIC_BOARD_DEFAULT == "ladder-step"


def test_a_new_task_starts_in_ladder_step_or_the_next_mode_its_metric_can_run(
    tmp_path: Path, settings
):
    settings.PUBLIC_BOARD_DEFAULT = "ladder-step"  # the production default
    ChallengeFactory(slug="step-cup")
    started = {
        slug: task_import(
            source=write(tmp_path / slug, task={"slug": slug, **extra}),
            challenge_slug="step-cup",
            track_slug="t",
        ).public_board
        for slug, write, extra in (
            ("birds", write_classification_bundle, {}),
            ("prices", write_regression_bundle, {"metric": "rmse"}),
            ("pairs", write_matching_bundle, {"metric": "precision"}),
        )
    }
    # accuracy steps by 0.01; an RMSE has its target's unit (the parameter-free ladder);
    # precision has nothing to weigh two entries with.
    assert started == {"birds": "ladder-step", "prices": "ladder", "pairs": "plain"}


def test_an_imported_task_starts_in_the_default_unless_its_metric_cannot_run_it(
    tmp_path: Path, settings
):
    settings.PUBLIC_BOARD_DEFAULT = "ladder"  # the production default (the tests' is plain)
    ChallengeFactory(slug="new-cup")
    birds = task_import(
        source=write_classification_bundle(tmp_path / "b", task={"slug": "birds"}),
        challenge_slug="new-cup",
        track_slug="t",
    )
    pairs = task_import(
        source=write_matching_bundle(tmp_path / "p", task={"slug": "pairs", "metric": "precision"}),
        challenge_slug="new-cup",
        track_slug="t",
    )
    assert birds.public_board == "ladder"
    assert pairs.public_board == "plain"  # precision: nothing to weigh two entries with


@pytest.mark.django_db(transaction=True)
def test_tasks_that_existed_before_the_modes_keep_a_plain_board(tmp_path: Path, settings):
    settings.PUBLIC_BOARD_DEFAULT = "ladder"
    ChallengeFactory(slug="old-cup")
    task = task_import(
        source=write_classification_bundle(tmp_path / "b", task={"slug": "old"}),
        challenge_slug="old-cup",
        track_slug="t",
    )
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("datasets", "0009_task_version_uploads")])  # before the modes
        executor.loader.build_graph()
        executor.migrate([("datasets", "0010_task_public_board_ladder")])
        apps = executor.loader.project_state([("datasets", "0010_task_public_board_ladder")])
        migrated = apps.apps.get_model("datasets", "Task").objects.get(pk=task.pk)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert migrated.public_board == "plain"
    assert (migrated.ladder_bootstraps, migrated.ladder_bayes_factor) == (2000, 3.0)


@pytest.fixture
def plain_board(tmp_path: Path):
    ChallengeFactory(slug="cup", daily_submission_limit=100)
    planted = random_label_task(tmp_path, challenge="cup", slug="rl", rows=2000, mode="plain")
    team = TeamFactory(challenge=planted.task.track.challenge, name="ann")
    rng = np.random.default_rng(0)
    for i, right in enumerate((0.6, 0.62, 0.8)):
        values = np.where(rng.random(planted.truth.size) < right, planted.truth, "x")
        values = np.where(values == "x", np.where(planted.truth == "0", "1", "0"), values)
        upload(planted, team, values, tmp_path, f"s{i}")
    return planted, team


def test_an_organizer_sets_the_mode_in_the_console_audited_and_the_board_follows(plain_board):
    planted, team = plain_board
    task = planted.task
    exact = LeaderboardEntry.objects.get(task=task, team=team, split="public").score
    assert APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()["mode"] == "plain"
    client = _organizer()
    url = f"/admin/leaderboard/taskboardmode/{task.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "public_board": "ladder",
            "ladder_bootstraps": 2000,
            "ladder_bayes_factor": 3.0,
            "reason": "before the teams overfit",
        },
    )
    assert response.status_code == 302, response.content
    task.refresh_from_db()
    assert task.public_board == "ladder"
    event = AuditEvent.objects.get(action="task.public_board")
    assert event.before == {"public_board": "plain"} and event.after == {"public_board": "ladder"}
    assert event.reason == "before the teams overfit" and event.actor.username == "org"
    # The board was rebuilt under the mode in the same transaction: the shown score.
    entry = LeaderboardEntry.objects.get(task=task, team=team, split="public")
    assert entry.score == round(exact, 2) != exact
    assert set(LadderStep.objects.filter(task=task).values_list("mode", flat=True)) == {"ladder"}
    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    assert body["mode"] == "ladder" and body["entries"][0]["score"] == round(exact, 2)
    assert body["entries"][0]["exact_score"] is None
    # Organizers see every exact score: the API's exact_score, the page's "Exact" column.
    api = client.get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()["entries"][0]
    assert api["exact_score"] == exact and api["shown_score"] == round(exact, 2)
    page = client.get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    assert 'data-column="exact"' in page and f"{exact:.4f}" in page
    assert f"{exact:.4f}" not in Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()


def test_the_console_refuses_a_mode_the_metric_cannot_run_and_changes_nothing(tmp_path: Path):
    ChallengeFactory(slug="cup")
    pairs = task_import(
        source=write_matching_bundle(tmp_path / "p", task={"slug": "pairs", "metric": "recall"}),
        challenge_slug="cup",
        track_slug="t",
    )
    response = _organizer().post(
        f"/admin/leaderboard/taskboardmode/{pairs.pk}/change/",
        {"public_board": "ladder-bootstrap", "ladder_bootstraps": 2000, "ladder_bayes_factor": 3},
    )
    assert response.status_code == 200 and b"cannot decide on recall" in response.content
    assert Task.objects.get(pk=pairs.pk).public_board == "plain"
    assert not AuditEvent.objects.filter(action="task.public_board").exists()
    bad = _organizer().post(
        f"/admin/leaderboard/taskboardmode/{pairs.pk}/change/",
        {"public_board": "plain", "ladder_bootstraps": 5, "ladder_bayes_factor": 0.5},
    )
    assert bad.status_code == 200 and Task.objects.get(pk=pairs.pk).ladder_bootstraps == 2000


def _cell(page: str, team: str, role: str) -> str:
    row = page.split(f'<tr data-team="{team}">')[1].split("</tr>")[0]
    return row.split(f'data-role="{role}">')[1].split("<")[0].strip()


def test_the_shakeup_page_shows_the_panel_and_the_adaptivity_after_the_reveal(tmp_path: Path):
    ChallengeFactory(slug="cup", daily_submission_limit=100)
    planted = random_label_task(tmp_path, challenge="cup", slug="sk", rows=2000, mode="ladder")
    challenge = planted.task.track.challenge
    rng = np.random.default_rng(3)
    wrong = np.where(planted.truth == "0", "1", "0")
    for name, shares in (("honest", (0.6, 0.75)), ("prober", (0.6, 0.6, 0.6, 0.6))):
        team = TeamFactory(challenge=challenge, name=name)
        for i, right in enumerate(shares):
            values = np.where(rng.random(planted.truth.size) < right, planted.truth, wrong)
            upload(planted, team, values, tmp_path, f"{name}{i}")
            team_entries = i
    assert team_entries == 3
    client = _organizer()
    page = client.get(f"/tasks/{planted.task.slug}/shakeup/").content.decode()
    assert 'data-role="board-mode">ladder<' in page and 'data-role="expected"' in page
    assert page.count('data-role="adaptivity"><span class="muted"') == 2  # hidden before
    for name in ("honest", "prober"):
        steps = LadderStep.objects.filter(task=planted.task, team__name=name).order_by(
            "submission__created_at"
        )
        climbs = [s.climbed for s in steps]
        after_last = len(climbs) - 1 - max(i for i, c in enumerate(climbs) if c)
        assert _cell(page, name, "since-climb") == str(after_last)
    assert _cell(page, "honest", "since-climb") == "0"
    challenge.private_revealed = True
    challenge.save(update_fields=["private_revealed"])
    page = client.get(f"/tasks/{planted.task.slug}/shakeup/").content.decode()
    assert page.count('data-role="adaptivity"><span class="muted"') == 0
    for name in ("honest", "prober"):
        scored = Submission.objects.filter(task=planted.task, team__name=name).order_by(
            "created_at"
        )
        leader = LeaderboardEntry.objects.get(
            task=planted.task, team__name=name, split="public"
        ).submission
        first = scored.first()
        value = (leader.public_score - first.public_score) - (
            leader.private_score - first.private_score
        )
        assert float(_cell(page, name, "adaptivity")) == pytest.approx(value, abs=1e-4)
    assert Client().get(f"/tasks/{planted.task.slug}/shakeup/").status_code == 302  # staff only


def test_the_track_s_resamples_spread_around_the_shown_scores(tmp_path: Path):
    """P(first), rank intervals and the pairwise intervals of a track read each task's
    resamples; on a ladder board they are moved onto the shown scores (never spread around
    the exact ones the board hides)."""
    from leaderboard.boards.track_first import track_first_board
    from leaderboard.selectors import ladder_shifts, track_values_of

    ChallengeFactory(slug="cup", daily_submission_limit=100)
    planted = random_label_task(tmp_path, challenge="cup", slug="tr", rows=2000, mode="ladder")
    challenge = planted.task.track.challenge
    rng = np.random.default_rng(9)
    wrong = np.where(planted.truth == "0", "1", "0")
    for name, right in (("ann", 0.8), ("bo", 0.7)):
        team = TeamFactory(challenge=challenge, name=name)
        values = np.where(rng.random(planted.truth.size) < right, planted.truth, wrong)
        upload(planted, team, values, tmp_path, name)
    entries = list(
        LeaderboardEntry.objects.filter(task=planted.task, split="public").select_related(
            "submission"
        )
    )
    values = track_values_of(tasks=[planted.task], split="public", entries=entries)
    shifts = ladder_shifts(tasks=[planted.task], split="public", entries=entries, values=values)
    for e in entries:
        expected = round(e.submission.public_score, 2) - e.submission.public_score
        assert shifts[planted.task.slug][e.team_id] == pytest.approx(expected)
        assert e.score == round(e.submission.public_score, 2)
    board = track_first_board(track=planted.task.track, split="public")
    assert sum(first.p_first for first in board.teams.values()) == pytest.approx(1.0)
    (pair,) = board.pairwise  # the difference of the shown means, not of the exact ones
    shown = [e.score for e in entries]
    assert abs(pair.difference) == pytest.approx(abs(shown[0] - shown[1]))
