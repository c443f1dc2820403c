"""Task owners within the rules (issue 25): a task owner's reference uploads have a daily
limit of their own, need the current rules, stop when the owner team is hidden, report no
number to an owner whose team competes on the task before the reveal (the reference is
still scored, for the board's flips), are audited, and the primary reference is the
organizers' to change once the challenge has started."""

from __future__ import annotations

import pytest
from django.test import Client

from challenges.models import AuditEvent, Challenge
from scoring.models import Reference
from scoring.reference_selectors import primary_reference
from tests.scoring_tests.factories import api_client_for, upload
from tests.scoring_tests.references_helpers import organizer, wrong_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(case):
    """Ann's team contributed the task: Ann is a task owner and competes on it."""
    task = case["task"]
    task.owner_team = case["ann"].team
    task.save(update_fields=["owner_team"])
    return case


def refs_url(task) -> str:
    return f"/api/v1/tasks/{task.slug}/references/"


def post_ref(api, task, name: str, content: bytes, **extra):
    return api.post(refs_url(task), {"name": name, "file": upload(content), **extra})


def test_an_owners_upload_is_scored_but_its_numbers_wait_for_the_reveal(owned) -> None:
    task, P = owned["task"], owned["P"]
    ann = owned["ann"].api()
    made = post_ref(ann, task, "prod", wrong_on(task, {P[1]}))
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["status"] == "scored" and body["scores_withheld"] is True
    assert body["public_score"] is None and body["private_score"] is None
    assert body["scores"] == {}
    stored = Reference.objects.get(task=task, name="prod")
    assert stored.public_score is not None  # scored all the same
    listed = {r["name"]: r for r in ann.get(refs_url(task)).json()}
    assert listed["prod"]["public_score"] is None and listed["prod"]["scores_withheld"]
    assert listed["Trivial baseline"]["public_score"] is not None  # public anyway

    # The public board shows the row without its number; nobody reads it there either.
    board = ann.get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    (row,) = [e for e in board["entries"] if e.get("reference") == "prod"]
    assert row["score"] is None
    anonymous = api_client_for(None).get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    assert [e["score"] for e in anonymous["entries"] if e.get("reference") == "prod"] == [None]
    # Nor do flips against it on the owner's own submission (they would give it away).
    sub = owned["subs"]["ann"]
    flips = ann.get(f"/api/v1/submissions/{sub.pk}/").json()["flips"]
    assert "prod" not in flips.get("public", {})
    browser = Client()
    browser.force_login(owned["ann"].user)
    page = browser.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert f"{stored.public_score:.4f}" not in page and 'class="withheld"' in page

    org = api_client_for(organizer())
    seen = {r["name"]: r for r in org.get(refs_url(task)).json()}["prod"]
    assert seen["public_score"] == pytest.approx(stored.public_score)
    assert seen["scores_withheld"] is False

    Challenge.objects.filter(pk=task.track.challenge_id).update(private_revealed=True)
    after = {r["name"]: r for r in ann.get(refs_url(task)).json()}["prod"]
    assert after["public_score"] == pytest.approx(stored.public_score)
    assert "prod" in ann.get(f"/api/v1/submissions/{sub.pk}/").json()["flips"]["public"]


def test_owners_have_a_daily_limit_of_their_own(owned, settings) -> None:
    settings.REFERENCE_UPLOADS_PER_DAY = 2
    task, P = owned["task"], owned["P"]
    ann = owned["ann"].api()
    for i in range(2):
        assert post_ref(ann, task, f"v{i}", wrong_on(task, {P[i]})).status_code == 201
    over = post_ref(ann, task, "v2", wrong_on(task, {P[2]}))
    assert over.status_code == 429 and over.json()["code"] == "reference_limit"
    assert "resets at" in over.json()["detail"]
    assert not Reference.objects.filter(task=task, name="v2").exists()
    # Removing one does not give the upload back (the audit log counts).
    v0 = Reference.objects.get(task=task, name="v0")
    assert ann.delete(f"{refs_url(task)}{v0.pk}/").status_code == 204
    assert post_ref(ann, task, "v3", wrong_on(task, {P[3]})).status_code == 429
    # A refused file costs nothing; organizers are not limited.
    org = api_client_for(organizer())
    assert post_ref(org, task, "org-ref", wrong_on(task, {P[4]})).status_code == 201
    events = AuditEvent.objects.filter(action="reference.upload", object_id=str(task.pk))
    assert events.count() == 3
    assert {e.actor_name for e in events} == {"ann", "org"}
    assert AuditEvent.objects.filter(action="reference.delete").count() == 1


def test_rules_not_accepted_or_a_hidden_team_stop_the_uploads(owned) -> None:
    task, P = owned["task"], owned["P"]
    challenge = task.track.challenge
    challenge.rules = "Play fair."
    challenge.save()
    ann = owned["ann"].api()
    refused = post_ref(ann, task, "r", wrong_on(task, {P[1]}))
    assert refused.status_code == 403 and refused.json()["code"] == "rules_not_accepted"
    challenge.rules = ""
    challenge.save()
    team = owned["ann"].team
    team.is_hidden = True
    team.save()
    hidden = post_ref(ann, task, "r", wrong_on(task, {P[1]}))
    assert hidden.status_code == 403 and hidden.json()["code"] == "team_hidden"
    assert not Reference.objects.filter(task=task, name="r").exists()
    assert not AuditEvent.objects.filter(action="reference.upload").exists()


def test_after_the_start_the_primary_reference_is_the_organizers_choice(owned) -> None:
    task, P = owned["task"], owned["P"]
    ann = owned["ann"].api()
    default = primary_reference(task=task).name
    locked = post_ref(ann, task, "mine", wrong_on(task, {P[1]}), primary="true")
    assert locked.status_code == 403 and locked.json()["code"] == "primary_locked"
    assert "organizer" in locked.json()["detail"]
    assert not Reference.objects.filter(task=task, name="mine").exists()

    assert post_ref(ann, task, "mine", wrong_on(task, {P[1]})).status_code == 201
    assert primary_reference(task=task).name == default  # not silently primary
    put = ann.put(f"{refs_url(task)}primary/", {"reference": "mine"}, format="json")
    assert put.status_code == 403 and put.json()["code"] == "primary_locked"
    assert primary_reference(task=task).name == default

    org_user = organizer()
    org = api_client_for(org_user)
    done = org.put(f"{refs_url(task)}primary/", {"reference": "mine"}, format="json")
    assert done.status_code == 200 and primary_reference(task=task).name == "mine"
    change = AuditEvent.objects.get(action="reference.primary")
    assert change.actor == org_user
    assert (change.before["primary"], change.after["primary"]) == (default, "mine")
    # The owner cannot take the primary away by removing it either.
    mine = Reference.objects.get(task=task, name="mine")
    gone = ann.delete(f"{refs_url(task)}{mine.pk}/")
    assert gone.status_code == 403 and Reference.objects.filter(pk=mine.pk).exists()
