"""The task-owner role (docs/architecture.md §10) beyond the matrix's status codes: what
the owner of ``owned_task`` sees and queues, and that the other task stays out of reach."""

from __future__ import annotations

import pytest

from challenges.models import Challenge
from tests.security_tests.world import client_for

pytestmark = pytest.mark.django_db


def test_task_owner_sees_its_task_submissions_after_the_reveal_and_no_other_task(world):
    from unittest import mock

    from django.core.files.uploadedfile import SimpleUploadedFile

    from scoring.services.upload import submission_create

    with mock.patch("jobs.lifecycle.publish", lambda *a, **kw: True):
        theirs = submission_create(
            task=world.owned_task,
            user=world.users["a"],
            file=SimpleUploadedFile("p.csv", b"id,label\n1,a\n"),
            note=world.notes["a"],
        )
    owner = client_for(world, "owner")
    url = f"/api/v1/tasks/{world.owned_task.slug}/all-submissions/"
    before = owner.get(url)
    assert before.status_code == 403 and before.json()["code"] == "not_revealed"
    Challenge.objects.filter(pk=world.challenge.pk).update(private_revealed=True)
    after = owner.get(url)
    assert after.status_code == 200
    listed = after.json()["results"]
    assert [row["id"] for row in listed] == [theirs.pk]
    assert world.notes["a"] not in after.content.decode()  # the team's note stays its own
    other = owner.get(f"/api/v1/tasks/{world.task.slug}/all-submissions/")
    assert other.status_code == 403 and other.json()["code"] == "not_task_owner"
    assert "task owner" in other.json()["detail"]
    # A participant of another team stays refused after the reveal too.
    assert client_for(world, "b").get(url).status_code == 403


def test_task_owner_page_queues_the_baseline_of_its_task_only(world):
    """The page is scoring's, its baseline part the algorithms app's (scoring.owner_sections):
    the form names its section, and a POST naming none changes nothing."""
    from algorithms.models import BaselineRun

    owner = client_for(world, "owner")
    page = owner.get(f"/tasks/{world.owned_task.slug}/").content.decode()
    assert f"/tasks/{world.owned_task.slug}/manage/" in page
    assert "/manage/" not in owner.get(f"/tasks/{world.task.slug}/").content.decode()
    manage = owner.get(f"/tasks/{world.owned_task.slug}/manage/").content.decode()
    assert "once the private leaderboard is revealed" in manage
    assert 'name="section" value="baseline"' in manage and "No baseline run yet." in manage
    url = f"/tasks/{world.owned_task.slug}/manage/"
    for hostile in ({}, {"section": "nope"}, {"section": "Baseline"}):
        response = owner.post(url, hostile, follow=True)
        assert "This page has no such form; nothing was changed." in response.content.decode()
    assert not BaselineRun.objects.filter(task=world.owned_task).exists()
    response = owner.post(url, {"section": "baseline"}, follow=True)
    assert "queued" in response.content.decode()
    assert BaselineRun.objects.filter(task=world.owned_task).count() == 1
    assert "Run #" in response.content.decode()  # the section lists it
    other = f"/tasks/{world.task.slug}/manage/"
    assert owner.post(other, {"section": "baseline"}).status_code == 404
    assert BaselineRun.objects.filter(task=world.task).count() == 1  # the world's own run
    Challenge.objects.filter(pk=world.challenge.pk).update(private_revealed=True)
    revealed = owner.get(f"/tasks/{world.owned_task.slug}/manage/").content.decode()
    assert "None yet." in revealed and world.notes["a"] not in revealed


def test_a_hidden_owner_team_manages_nothing_and_is_told_why(world):
    """Organizers hid (or disqualified) the team that contributed the task: its members no
    longer queue baselines, replace the data or touch references, on the pages or the API;
    each refusal says why, and nothing changes. Shown again, the team manages its task."""
    from algorithms.models import BaselineRun
    from challenges.models import Team
    from datasets.selectors import tasks_managed_by
    from scoring.models import Reference

    task = world.owned_task
    task.refresh_from_db()
    slug, version = task.slug, task.data_version
    runs = BaselineRun.objects.filter(task=task).count()
    references = Reference.objects.filter(task=task).count()
    owner_team = Team.objects.filter(pk=task.owner_team_id)
    assert owner_team.update(is_hidden=True) == 1
    said = "has been hidden or disqualified by the organizers and can no longer manage the task"
    page = client_for(world, "owner")
    for method, url, data in (
        ("get", f"/tasks/{slug}/manage/", None),
        ("post", f"/tasks/{slug}/manage/", {"section": "baseline"}),
        ("get", f"/tasks/{slug}/manage/data/", None),
        ("post", f"/tasks/{slug}/manage/data/", {"reason": "mine now"}),
        ("post", f"/tasks/{slug}/manage/references/", {"action": "primary", "name": "x"}),
    ):
        response = getattr(page, method)(url, data or {})
        assert response.status_code == 403, (method, url)
        assert said in response.content.decode(), (method, url)
    # The task's public page no longer links to a page the member may not use.
    assert f"/tasks/{slug}/manage/" not in page.get(f"/tasks/{slug}/").content.decode()
    api = client_for(world, "anon", HTTP_AUTHORIZATION=f"Token {world.tokens['owner']}")
    for method, url in (
        ("post", f"/api/v1/tasks/{slug}/baselines/"),
        ("post", f"/api/v1/tasks/{slug}/versions/"),
        ("get", f"/api/v1/tasks/{slug}/references/"),
        ("post", f"/api/v1/tasks/{slug}/references/"),
        ("get", f"/api/v1/tasks/{slug}/all-submissions/"),
    ):
        response = getattr(api, method)(url)
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["code"] == "team_hidden", (method, url)
        assert said in response.json()["detail"]
    # The versions are public (issue 42): the hidden team reads them as anyone does,
    # without who uploaded them.
    listed = api.get(f"/api/v1/tasks/{slug}/versions/")
    assert listed.status_code == 200
    assert listed.json() and "created_by" not in listed.json()[0]
    assert not tasks_managed_by(user=world.users["owner"]).exists()
    task.refresh_from_db()
    assert task.data_version == version
    assert BaselineRun.objects.filter(task=task).count() == runs
    assert Reference.objects.filter(task=task).count() == references
    # Someone who never owned the task still gets 404 on the page, as before.
    assert client_for(world, "a").get(f"/tasks/{slug}/manage/").status_code == 404
    owner_team.update(is_hidden=False)
    assert page.get(f"/tasks/{slug}/manage/").status_code == 200
    assert list(tasks_managed_by(user=world.users["owner"])) == [task]
