"""Fixtures shared by the platform's tests."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def organizer_client(client):
    """The test client, signed in as a staff superuser (an organizer of the console)."""
    organizer = get_user_model().objects.create_user(
        "org", password="x", is_staff=True, is_superuser=True
    )
    client.force_login(organizer)
    return client
