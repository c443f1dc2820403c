"""The rules gate (docs/architecture.md §10) on every entry point, the rules API and
page, and their abuse.

Uses the security world: a challenge with a task, two teams with a scored submission each.
Each test sets rules on the challenge (rolled back afterwards).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from challenges.models import Challenge, RulesAcceptance, Team, TeamMembership
from challenges.rules import CSV_HEADER, RulesError, rules_accept, rules_acceptance_rows
from scoring.models import Submission
from tests.security_tests.world import World, client_for

pytestmark = pytest.mark.django_db

RULES = "# Rules\n\n1. Be **fair**.\n\n<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def ruled(world: World) -> World:
    world.challenge.refresh_from_db()
    world.challenge.rules, world.challenge.rules_version = RULES, 3
    world.challenge.save()  # a save renders the rules (challenges.markdown)
    return world


def api(world: World, role: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")


def entry_points(w: World) -> list[tuple[str, str, dict | None]]:
    """(method, path, data) of everything the gate must stop, web and API."""
    task, challenge = w.task.slug, w.challenge.slug
    return [
        ("POST", f"/c/{challenge}/teams/new/", {"name": "Gate web team"}),
        ("POST", "/join/", {"code": w.team_b.invite_code}),
        ("GET", f"/tasks/{task}/files/train.csv", None),
        ("GET", f"/tasks/{task}/files/test.parquet", None),
        ("POST", f"/tasks/{task}/submit/", "upload"),
        ("POST", f"/api/v1/challenges/{challenge}/teams/", {"name": "Gate API team"}),
        ("POST", "/api/v1/teams/join/", {"code": w.team_b.invite_code}),
        ("GET", f"/api/v1/tasks/{task}/files/train.parquet", None),
        ("GET", f"/api/v1/tasks/{task}/files/test.csv", None),
        ("POST", f"/api/v1/tasks/{task}/submissions/", "upload"),
    ]


def send(client: Client, w: World, method: str, path: str, data):
    if data == "upload":
        data = {"file": SimpleUploadedFile("p.csv", w.files["a"]), "note": "gate"}
    if method == "GET":
        return client.get(path)
    return client.post(path, data or {})


def test_every_entry_point_is_refused_until_the_current_rules_are_accepted(ruled):
    w = ruled
    web, token = client_for(w, "a"), api(w, "a")
    teams, members = Team.objects.count(), TeamMembership.objects.count()
    submissions = Submission.objects.count()
    rules_page = f"/c/{w.challenge.slug}/rules/"
    for method, path, data in entry_points(w):
        client = token if path.startswith("/api/") else web
        response = send(client, w, method, path, data)
        if path.startswith("/api/"):
            assert response.status_code == 403, (path, response.status_code)
            body = response.json()
            assert body["code"] == "rules_not_accepted", path
            # A sentence any client can print as it is, with where to accept.
            assert "http://testserver" + rules_page in body["detail"]
            assert "version 3" in body["detail"]
        else:
            assert response.status_code == 302, (path, response.status_code)
            assert response["Location"].startswith(rules_page + "?next="), path
    assert (Team.objects.count(), TeamMembership.objects.count()) == (teams, members)
    assert Submission.objects.count() == submissions

    # Accepted: the same calls go through (downloads stream, the upload is queued).
    RulesAcceptance.objects.create(user=w.users["a"], challenge=w.challenge, version=3)
    assert web.get(f"/tasks/{w.task.slug}/files/train.csv").status_code == 200
    assert token.get(f"/api/v1/tasks/{w.task.slug}/files/test.csv").status_code == 200
    created = send(token, w, "POST", f"/api/v1/tasks/{w.task.slug}/submissions/", "upload")
    assert created.status_code == 201


def test_accepting_an_old_version_does_not_open_the_gate(ruled):
    w = ruled
    RulesAcceptance.objects.create(user=w.users["a"], challenge=w.challenge, version=2)
    response = api(w, "a").get(f"/api/v1/tasks/{w.task.slug}/files/train.csv")
    assert response.status_code == 403 and response.json()["code"] == "rules_not_accepted"


def test_empty_rules_ask_nothing_and_organizers_are_never_asked(world, ruled):
    org = api(ruled, "org")
    assert org.get(f"/api/v1/tasks/{ruled.task.slug}/files/train.csv").status_code == 200
    Challenge.objects.filter(pk=ruled.challenge.pk).update(rules="  \n")
    response = api(ruled, "b").get(f"/api/v1/tasks/{ruled.task.slug}/files/train.csv")
    assert response.status_code == 200
    body = api(ruled, "b").get(f"/api/v1/challenges/{ruled.challenge.slug}/rules/").json()
    assert body["accepted"] is True and body["required"] is False


def test_rules_api_shows_and_accepts_the_current_version(ruled):
    w = ruled
    client = api(w, "b")
    url = f"/api/v1/challenges/{w.challenge.slug}/rules/"
    shown = client.get(url).json()
    assert shown["version"] == 3 and shown["text"] == RULES and shown["accepted"] is False
    anonymous = Client().get(url).json()
    assert anonymous["accepted"] is False and anonymous["version"] == 3

    stale = client.post(url + "accept/", {"version": 2}, content_type="application/json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "rules_version_stale"
    assert "current version is 3" in stale.json()["detail"]
    for bad in ({}, {"version": "three"}, {"version": -1}, {"version": 10**30}):
        refused = client.post(url + "accept/", bad, content_type="application/json")
        assert refused.status_code == 400, bad
        assert refused.json()["code"] == "invalid"
    assert not RulesAcceptance.objects.filter(user=w.users["b"]).exists()

    accepted = client.post(url + "accept/", {"version": 3}, content_type="application/json")
    assert accepted.status_code == 200
    assert accepted.json()["accepted"] is True and accepted.json()["accepted_at"]
    again = client.post(url + "accept/", {"version": 3}, content_type="application/json")
    assert again.json()["accepted_at"] == accepted.json()["accepted_at"]  # kept, not renewed
    assert RulesAcceptance.objects.filter(user=w.users["b"], version=3).count() == 1
    assert Client().post(url + "accept/", {"version": 3}).status_code == 401


def test_rules_page_renders_sanitized_markdown_and_accepts_with_a_safe_next(ruled):
    w = ruled
    client = client_for(w, "a")
    page = client.get(f"/c/{w.challenge.slug}/rules/").content.decode()
    assert "<strong>fair</strong>" in page and "<h1>Rules</h1>" in page
    assert "<script>alert" not in page and "onerror" not in page
    assert 'name="version" value="3"' in page

    url = f"/c/{w.challenge.slug}/rules/"
    for hostile in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(url, {"version": "3", "next": hostile})
        assert response.status_code == 302
        assert response["Location"] == f"/c/{w.challenge.slug}/", hostile
    local = client.post(url, {"version": "3", "next": f"/tasks/{w.task.slug}/"})
    assert local["Location"] == f"/tasks/{w.task.slug}/"
    assert RulesAcceptance.objects.filter(user=w.users["a"], version=3).count() == 1


def test_rules_page_refuses_a_stale_version_with_a_message(ruled):
    w = ruled
    client = client_for(w, "b")
    response = client.post(f"/c/{w.challenge.slug}/rules/", {"version": "2"}, follow=True)
    assert "the current version is 3" in response.content.decode()
    garbage = client.post(f"/c/{w.challenge.slug}/rules/", {"version": "x"}, follow=True)
    assert garbage.status_code == 200
    assert not RulesAcceptance.objects.filter(user=w.users["b"]).exists()


def test_the_service_refuses_stale_versions_and_challenges_without_rules(ruled):
    w = ruled
    with pytest.raises(RulesError) as stale:
        rules_accept(challenge=w.challenge, user=w.users["a"], version=4)
    assert stale.value.code == "rules_version_stale"
    Challenge.objects.filter(pk=w.challenge.pk).update(rules="")
    w.challenge.refresh_from_db()
    with pytest.raises(RulesError) as none:
        rules_accept(challenge=w.challenge, user=w.users["a"], version=3)
    assert none.value.code == "no_rules"


def test_editing_the_rules_in_the_console_raises_the_version_and_asks_again(ruled):
    w = ruled
    RulesAcceptance.objects.create(user=w.users["a"], challenge=w.challenge, version=3)
    model_admin = admin.site._registry[Challenge]
    client = client_for(w, "org")
    change = reverse("admin:challenges_challenge_change", args=[w.challenge.pk])
    form = client.get(change).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    for name in ("start", "end", "reveal_at"):
        value = getattr(w.challenge, name)
        data[f"{name}_0"] = value.strftime("%Y-%m-%d") if value else ""
        data[f"{name}_1"] = value.strftime("%H:%M:%S") if value else ""
        data.pop(name, None)
    data.update({"rules": RULES + "\n2. New rule.", "rules_version": "3"})
    data.update(
        {"tracks-TOTAL_FORMS": "0", "tracks-INITIAL_FORMS": "0", "tracks-MAX_NUM_FORMS": "1000"}
    )
    for track in w.challenge.tracks.all():
        i = int(data["tracks-TOTAL_FORMS"])
        data.update(
            {
                f"tracks-{i}-id": str(track.pk),
                f"tracks-{i}-challenge": str(w.challenge.pk),
                f"tracks-{i}-slug": track.slug,
                f"tracks-{i}-title": track.title,
                f"tracks-{i}-order": str(track.order),
            }
        )
        data["tracks-TOTAL_FORMS"] = data["tracks-INITIAL_FORMS"] = str(i + 1)
    response = client.post(change, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    w.challenge.refresh_from_db()
    assert w.challenge.rules_version == 4 and model_admin is not None
    gated = api(w, "a").get(f"/api/v1/tasks/{w.task.slug}/files/train.csv")
    assert gated.status_code == 403 and "version 4" in gated.json()["detail"]


def test_acceptances_export_as_csv_without_formula_cells(ruled):
    w = ruled
    w.users["b"].email = '=HYPERLINK("http://evil")@example.com'
    w.users["b"].save()
    RulesAcceptance.objects.create(user=w.users["a"], challenge=w.challenge, version=2)
    RulesAcceptance.objects.create(user=w.users["b"], challenge=w.challenge, version=3)
    client = client_for(w, "org")
    response = client.post(
        reverse("admin:challenges_challenge_changelist"),
        {"action": "export_rules_acceptances", "_selected_action": [w.challenge.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert (
        rows[0]
        == CSV_HEADER
        == ["challenge", "username", "email", "version", "accepted_at", "current_version"]
    )
    by_user = {row[1]: row for row in rows[1:]}
    assert by_user[w.users["a"].username][3:4] == ["2"]
    assert by_user[w.users["a"].username][5] == "no"
    assert by_user[w.users["b"].username][5] == "yes"
    assert by_user[w.users["b"].username][2].startswith("'=")
    assert list(rules_acceptance_rows(challenges=Challenge.objects.none())) == []


def test_the_task_page_points_to_the_rules_instead_of_offering_the_upload(ruled):
    w = ruled
    client = client_for(w, "a")
    page = client.get(f"/tasks/{w.task.slug}/").content.decode()
    assert 'id="rules-pending"' in page and f"/c/{w.challenge.slug}/rules/?next=" in page
    assert 'data-role="upload-error"' not in page
    RulesAcceptance.objects.create(user=w.users["a"], challenge=w.challenge, version=3)
    page = client.get(f"/tasks/{w.task.slug}/").content.decode()
    assert 'id="rules-pending"' not in page and 'data-role="upload-error"' in page
