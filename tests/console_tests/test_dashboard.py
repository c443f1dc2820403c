"""The dashboard on the console's first page: teams, active teams, submissions per day,
failure rate and queue health; and the console's lists organizers search and filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from operations.dashboard import console_dashboard
from scoring.models import Submission
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    challenge = ChallengeFactory(slug="spring", title="Spring cup")
    task = make_task(TrackFactory(challenge=challenge), slug="t")
    active, idle = make_team(challenge, "active"), make_team(challenge, "idle")
    make_team(challenge, "Baseline", baseline=True)
    scored(task, active, 0.8)  # factories date it one day ago
    scored(task, active, None, status="failed")
    scored(task, active, None, status="queued")
    old = scored(task, idle, 0.5)
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=12))
    return challenge


def test_the_figures_of_the_dashboard(world):
    (row,) = console_dashboard()["challenges"]
    assert (row["teams"], row["active_teams"], row["submissions"]) == (2, 1, 4)
    assert row["failed"] == 1 and row["failure_rate"] == pytest.approx(1 / 3)
    chart = str(row["chart"])
    assert chart.startswith("<svg") and "Submissions per day: Spring cup" in chart
    yesterday = (timezone.now() - timedelta(days=1)).strftime("%m-%d")
    assert f"<title>{yesterday}: 3</title>" in chart  # three submissions one day ago
    assert console_dashboard()["health"]["queued"] == 1


def test_the_dashboard_is_on_the_consoles_first_page(client, world):
    organizer = get_user_model().objects.create_user(
        "org", password="x", is_staff=True, is_superuser=True
    )
    client.force_login(organizer)
    page = client.get("/admin/").content.decode()
    assert 'id="console-dashboard"' in page and 'data-challenge="spring"' in page
    assert '<strong class="dash-active">1</strong>' in page
    assert '<strong class="dash-failure">33 %</strong>' in page
    assert 'id="dash-queued">1<' in page and "<svg" in page


def test_submissions_list_filters_by_task_team_status_and_date(client, world):
    organizer = get_user_model().objects.create_user(
        "org", password="x", is_staff=True, is_superuser=True
    )
    client.force_login(organizer)
    base = "/admin/scoring/submission/"
    assert client.get(base).context["cl"].date_hierarchy == "created_at"
    failed = client.get(f"{base}?status__exact=failed").context["cl"].result_list
    assert [s.status for s in failed] == ["failed"]
    by_team = client.get(f"{base}?q=idle").context["cl"].result_list
    assert [s.team.name for s in by_team] == ["idle"]
    teams = client.get(f"/admin/challenges/team/?challenge__id__exact={world.pk}")
    assert teams.context["cl"].result_count == 3
