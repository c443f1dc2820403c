"""Posting an announcement is written to the audit log (issue 25), from the console and
the service alike, once."""

from __future__ import annotations

import pytest

from challenges.models import AuditEvent
from notifications.models import Announcement
from tests.challenges_tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_announcement_posted_in_the_console_is_audited(client) -> None:
    challenge = ChallengeFactory(slug="news")
    organizer = UserFactory(username="org", is_staff=True, is_superuser=True)
    client.force_login(organizer)
    client.post(
        "/admin/notifications/announcement/add/",
        {"challenge": challenge.pk, "title": "Deadline moved", "body": "By **one** day."},
    )
    announcement = Announcement.objects.get()
    (event,) = AuditEvent.objects.filter(action="announcement.post")
    assert event.actor == organizer and event.challenge == challenge
    assert event.object_id == str(announcement.pk)
    assert event.after == {"title": "Deadline moved", "body": "By **one** day."}
    # A refused post (no text) records nothing.
    client.post(
        "/admin/notifications/announcement/add/",
        {"challenge": challenge.pk, "title": "Empty", "body": "  "},
    )
    assert AuditEvent.objects.filter(action="announcement.post").count() == 1
