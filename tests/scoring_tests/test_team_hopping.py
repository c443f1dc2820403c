"""Team hopping (issue 15): a person enters a challenge once, with one daily quota, and a
disqualification follows the person. The issue's scenarios, reproduced literally first."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from challenges.models import Team, TeamMembership
from challenges.services import (
    TeamError,
    team_create,
    team_member_add,
    team_member_remove,
    team_visibility_set,
)
from scoring.models import Submission
from scoring.services.upload import SubmissionRefused, submission_admission_check, submission_create
from tests.scoring_tests.factories import (
    UserFactory,
    csv_bytes,
    make_participant,
    predictions_frame,
    upload,
)

pytestmark = pytest.mark.django_db

LIMIT = 2


@pytest.fixture
def task(module_tasks):
    task = module_tasks["classification"]
    challenge = task.track.challenge
    challenge.daily_submission_limit = LIMIT
    challenge.save()
    return task


@pytest.fixture
def content(task) -> bytes:
    return csv_bytes(predictions_frame(task))


def state(challenge) -> tuple:
    """Everything a refusal must leave alone."""
    return (
        sorted(Team.objects.filter(challenge=challenge).values_list("pk", "name", "is_hidden")),
        sorted(TeamMembership.objects.filter(challenge=challenge).values_list("team", "user")),
        Submission.objects.count(),
    )


def test_hit_limit_leave_create_new_team_upload_is_refused_at_every_step(task, content):
    challenge = task.track.challenge
    mallory = make_participant(challenge, username="mallory")
    for _ in range(LIMIT):
        submission_create(task=task, user=mallory.user, file=upload(content))
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(task=task, user=mallory.user, file=upload(content))
    assert caught.value.code == "daily_limit"

    # 1. Leaving a team that has submitted is refused: its roster is fixed.
    before = state(challenge)
    with pytest.raises(TeamError) as left:
        team_member_remove(user=mallory.user, team=mallory.team)
    assert left.value.code == "team_locked" and "has submitted" in left.value.message
    assert state(challenge) == before, "a refused leave changes nothing"

    # 2. Even off the roster (an organizer removed the membership), the person has entered:
    #    no new team, no joining another one.
    TeamMembership.objects.filter(user=mallory.user).delete()
    other = make_participant(challenge, username="otto")
    before = state(challenge)
    with pytest.raises(TeamError) as created:
        team_create(challenge=challenge, user=mallory.user, name="Fresh start")
    assert created.value.code == "already_entered"
    assert f"“{mallory.team.name}”" in created.value.message
    with pytest.raises(TeamError) as joined:
        team_member_add(user=mallory.user, code=other.team.invite_code)
    assert joined.value.code == "already_entered"
    assert state(challenge) == before

    # 3. And if a membership is moved behind the platform's back, the per-person quota
    #    still holds: the new team has uploads left, the person has none.
    TeamMembership.objects.create(team=other.team, user=mallory.user, challenge=challenge)
    before = state(challenge)
    with pytest.raises(SubmissionRefused) as refused:
        submission_admission_check(task=task, user=mallory.user)
    assert refused.value.code == "daily_limit" and "per person" in refused.value.message
    with pytest.raises(SubmissionRefused):
        submission_create(task=task, user=mallory.user, file=upload(content))
    assert state(challenge) == before
    submission_create(task=task, user=other.user, file=upload(content))  # the team may


def test_the_api_refuses_the_hop_with_a_clear_message(task, content):
    challenge = task.track.challenge
    mallory = make_participant(challenge, username="mallory")
    submission_create(task=task, user=mallory.user, file=upload(content))
    TeamMembership.objects.filter(user=mallory.user).delete()  # off the roster
    client = APIClient()
    client.force_authenticate(mallory.user)
    response = client.post(
        f"/api/v1/challenges/{challenge.slug}/teams/", {"name": "Second entry"}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "already_entered"
    assert not Team.objects.filter(name="Second entry").exists()


def test_a_disqualified_member_cannot_leave_nor_enter_again(task, content, client):
    challenge = task.track.challenge
    cheat = make_participant(challenge, username="cheat")
    submission_create(task=task, user=cheat.user, file=upload(content))
    team_visibility_set(team=cheat.team, hidden=True)

    before = state(challenge)
    with pytest.raises(TeamError) as left:
        team_member_remove(user=cheat.user, team=cheat.team)
    assert left.value.code == "disqualified"
    # The web page says so and changes nothing either.
    client.force_login(cheat.user)
    page = client.post(f"/teams/{cheat.team.pk}/leave/", follow=True)
    assert "disqualified" in page.content.decode()
    assert state(challenge) == before

    TeamMembership.objects.filter(user=cheat.user).delete()  # off the roster anyway
    open_team = make_participant(challenge).team
    before = state(challenge)
    for attempt in (
        lambda: team_create(challenge=challenge, user=cheat.user, name="Clean slate"),
        lambda: team_member_add(user=cheat.user, code=open_team.invite_code),
    ):
        snapshot = state(challenge)
        with pytest.raises(TeamError) as caught:
            attempt()
        assert caught.value.code == "disqualified"
        assert "disqualified" in caught.value.message
        assert state(challenge) == snapshot
    assert Team.objects.filter(name="Clean slate").count() == 0
    assert before[2] == Submission.objects.count()

    api = APIClient()
    api.force_authenticate(cheat.user)
    response = api.post(
        f"/api/v1/challenges/{challenge.slug}/teams/", {"name": "Clean slate"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "disqualified"


def test_a_disqualified_team_without_submissions_still_keeps_its_members(task):
    challenge = task.track.challenge
    member = make_participant(challenge)
    team_visibility_set(team=member.team, hidden=True)
    with pytest.raises(TeamError) as left:
        team_member_remove(user=member.user, team=member.team)
    assert left.value.code == "disqualified"
    assert member.team.memberships.filter(user=member.user).exists()


def test_no_memberless_ranked_team_is_left_behind(task, content, client):
    challenge = task.track.challenge
    solo = make_participant(challenge)
    client.force_login(solo.user)
    assert "Leave team" in client.get(f"/teams/{solo.team.pk}/").content.decode()
    submission_create(task=task, user=solo.user, file=upload(content))
    page = client.get(f"/teams/{solo.team.pk}/").content.decode()
    assert "Leave team" not in page and "members are fixed" in page
    refused = client.post(f"/teams/{solo.team.pk}/leave/", follow=True).content.decode()
    assert "has submitted" in refused
    with pytest.raises(TeamError):
        team_member_remove(user=solo.user, team=solo.team)
    assert solo.team.memberships.count() == 1


def test_before_any_submission_people_still_move_freely(task, content):
    challenge = task.track.challenge
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    first = team_create(challenge=challenge, user=alice, name="First")
    team_member_add(user=bob, code=first.invite_code)
    team_member_remove(user=bob, team=first)
    second = team_create(challenge=challenge, user=bob, name="Second")
    submission_create(task=task, user=bob, file=upload(content))
    # Alice never submitted and her team has not: she may still leave (the team goes).
    team_member_remove(user=alice, team=first)
    assert not Team.objects.filter(pk=first.pk).exists()
    assert Team.objects.filter(pk=second.pk).exists()


def test_the_person_quota_counts_every_team_a_person_uploaded_for(task, content):
    """Per person, per task, per UTC day, failed ones free: the same window as a team's."""
    challenge = task.track.challenge
    old = make_participant(challenge, username="hopper")
    first = submission_create(task=task, user=old.user, file=upload(content))
    new = make_participant(challenge)
    TeamMembership.objects.filter(user=old.user).update(team=new.team)
    submission_create(task=task, user=old.user, file=upload(content))  # 2nd of 2 for hopper
    with pytest.raises(SubmissionRefused, match="per person"):
        submission_create(task=task, user=old.user, file=upload(content))
    Submission.objects.filter(pk=first.pk).update(status="failed")
    submission_create(task=task, user=old.user, file=upload(content))


@pytest.mark.parametrize("teammates", [0, 1])
def test_a_leave_while_the_file_is_being_stored_submits_nothing(
    task, content, monkeypatch, teammates
):
    """The window between the admission check and the team lock: the person leaves while
    the file is written (the leave is allowed: no submission yet). The upload, once it holds
    the lock, sees it and refuses; the stored file is removed; no 500 for a team that went."""
    from scoring.services import upload as upload_module

    challenge = task.track.challenge
    person = make_participant(challenge)
    for _ in range(teammates):
        TeamMembership.objects.filter(user=make_participant(challenge).user).update(
            team=person.team
        )
    real_store = upload_module._store_upload

    def store_then_leave(**kwargs):
        real_store(**kwargs)
        team_member_remove(user=person.user, team=person.team)

    monkeypatch.setattr(upload_module, "_store_upload", store_then_leave)
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(task=task, user=person.user, file=upload(content))
    assert caught.value.code == "no_team" and "left the team" in caught.value.message
    assert not Submission.objects.exists()
    assert Team.objects.filter(pk=person.team.pk).exists() == bool(teammates)
