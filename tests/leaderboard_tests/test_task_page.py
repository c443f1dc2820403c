"""The task page puts together the dataset card, the submit form and the leaderboard."""

from __future__ import annotations

import pytest

from challenges.services import team_create
from datasets.services import task_import
from testkit.bundles import write_classification_bundle
from tests.challenges_tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_task_page_shows_card_remaining_submissions_and_leaderboard(client, tmp_path):
    task = task_import(
        source=write_classification_bundle(tmp_path / "b"), challenge_slug="cup", track_slug="kway"
    )
    anonymous = client.get(f"/tasks/{task.slug}/").content.decode()
    assert "Log in</a> to submit" in anonymous and "Leaderboard (public)" in anonymous

    alice = UserFactory(username="alice")
    client.force_login(alice)
    assert "create or join one" in client.get(f"/tasks/{task.slug}/").content.decode()

    team_create(challenge=task.track.challenge, user=alice, name="Owls")
    page = client.get(f"/tasks/{task.slug}/").content.decode()
    assert 'id="remaining-today">5<' in page
    assert 'type="file" name="file"' in page and "upload-progress" in page
    assert "No scored submission yet" in page
