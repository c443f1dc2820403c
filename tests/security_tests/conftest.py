"""Fixtures of the security tests: one real challenge per module, clients per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from tests.security_tests.world import ROLES, World, build_world, client_for, destroy_world
from tests.support.browser import browser  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    with django_db_blocker.unblock():
        world = build_world(tmp_path_factory.mktemp("security-world"))
    yield world
    with django_db_blocker.unblock():
        destroy_world(world)


@pytest.fixture
def world(_world: World, db) -> World:
    """The module's challenge; each test's own writes are rolled back."""
    cache.clear()  # throttle budgets and cached charts
    for submission in (_world.submission_a, _world.submission_b):
        submission.refresh_from_db()
    _world.challenge.refresh_from_db()
    return _world


@pytest.fixture
def clients(world: World) -> dict[str, Client]:
    return {role: client_for(world, role) for role in ROLES}
