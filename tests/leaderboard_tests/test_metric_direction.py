"""Every metric says which way is better: the registry, the API fields and the pages."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from kinds.metrics import METRICS, describe_metrics, metric_direction
from leaderboard.refresh import task_leaderboard_refresh
from scoring.core.metrics import metric_names
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory

from .factories import make_task, make_team, scored


def test_registry_knows_every_metric_the_core_computes():
    computed = {
        name
        for kind in ("classification", "matching", "grouping", "regression")
        for name in metric_names(kind, True, has_groups=True)
    }
    assert computed <= set(METRICS)
    assert metric_direction("log_loss") == "lower" and metric_direction("opis") == "lower"
    assert metric_direction("nfr") == "lower" and metric_direction("accuracy") == "higher"
    lower = {n for n, m in METRICS.items() if not m.higher_is_better}
    assert lower == {"log_loss", "opis", "nfr", "rmse", "mae"}
    assert describe_metrics(["log_loss"]) == {
        "log_loss": {"label": "Log-loss", "direction": "lower", "higher_is_better": False}
    }
    assert metric_direction("something_new") == "higher"


@pytest.mark.django_db
def test_leaderboard_api_and_page_say_which_way_is_better():
    challenge = ChallengeFactory()
    track = TrackFactory(challenge=challenge, slug="dir-track")
    task = make_task(track, slug="dir")
    sub = scored(task, make_team(challenge, "t"), 0.8, 0.7)
    sub.scores["public"]["log_loss"] = 0.45
    sub.save()
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    body = APIClient().get("/api/v1/tasks/dir/leaderboard/").json()
    assert body["primary_metric"] == "accuracy" and body["direction"] == "higher"
    assert body["metrics"]["log_loss"]["direction"] == "lower"
    assert body["metrics"]["accuracy"]["higher_is_better"] is True
    assert body["entries"][0]["metrics"]["log_loss"] == 0.45  # existing fields unchanged
    assert APIClient().get("/api/v1/tracks/dir-track/leaderboard/").json()["direction"] == "higher"
    page = Client().get("/tasks/dir/leaderboard/").content.decode()
    assert 'data-metric="log_loss">Log-loss <span class="direction lower"' in page
    assert 'data-metric="accuracy">Accuracy <span class="direction higher"' in page
    assert 'title="higher is better"' in page and 'title="lower is better"' in page


@pytest.mark.django_db
def test_submission_api_describes_its_metrics():
    from tests.challenges_tests.factories import UserFactory

    challenge = ChallengeFactory()
    task = make_task(TrackFactory(challenge=challenge), slug="dir-sub")
    sub = scored(task, make_team(challenge, "t"), 0.8, 0.7)
    sub.scores["public"]["log_loss"] = 0.45
    sub.save()
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    body = client.get(f"/api/v1/submissions/{sub.pk}/").json()
    assert body["scores"]["public"]["log_loss"] == 0.45
    assert body["metrics"]["log_loss"]["direction"] == "lower"
    assert body["metrics"]["accuracy"]["direction"] == "higher"


@pytest.mark.django_db
def test_opis_reads_as_threshold_consistency_not_quality():
    """A constant predictor's OPIS (0.035) below AutoGluon's (0.093) must not read as the
    better model: the board's column, its tooltips and note, the API and its schema say
    OPIS is threshold consistency, where lower is more consistent."""
    challenge = ChallengeFactory()
    task = make_task(TrackFactory(challenge=challenge, slug="opis-track"), slug="opis")
    for name, accuracy, opis in (("model", 0.8, 0.093), ("constant", 0.4, 0.035)):
        sub = scored(task, make_team(challenge, name), accuracy, accuracy)
        sub.scores["public"]["opis"] = opis
        sub.save()
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)

    page = Client().get("/tasks/opis/leaderboard/").content.decode()
    header = page[page.index('data-metric="opis"') :].split("</th>")[0]
    assert "OPIS (threshold consistency)" in header
    assert "lower is more consistent" in header  # the arrow's tooltip
    assert "does not measure how good the predictions are" in header  # the column's tooltip
    assert "lower is better" not in header
    assert 'id="opis-note"' in page
    assert "<strong>threshold consistency</strong>, not quality" in page

    body = APIClient().get("/api/v1/tasks/opis/leaderboard/").json()
    described = body["metrics"]["opis"]
    assert described["label"] == "OPIS (threshold consistency)"
    assert described["direction"] == "lower"
    assert "lower is more consistent" in described["description"]
    assert "description" not in body["metrics"]["accuracy"]  # the others keep their shape
    by_team = {e["team"]: e["opis"] for e in body["entries"]}
    assert by_team == {"model": 0.093, "constant": 0.035}  # the key and values unchanged

    schema = APIClient().get("/api/v1/schema/?format=json").json()
    fields = [
        component["properties"]["opis"]
        for component in schema["components"]["schemas"].values()
        if "opis" in component.get("properties", {})
    ]
    assert fields and all("lower is more consistent" in f["description"] for f in fields)
    assert all("does not measure how good" in f["description"] for f in fields)
