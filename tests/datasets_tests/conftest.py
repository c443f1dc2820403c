"""Fixtures of the datasets tests: users and API clients, demo bundles, a clean DATA_DIR."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from testkit.demo_data import DEMO_CACHE, DemoBundle, stored_files
from tests.datasets_tests.factories import UserFactory, api_client_for
from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _remove_stored_task_files() -> Iterator[None]:
    """Tests roll their rows back; remove the task files they stored so slugs stay free."""
    before = stored_files()
    yield
    for path in stored_files() - before:
        path.unlink(missing_ok=True)


@pytest.fixture
def participant(db):
    return UserFactory(username="alice")


@pytest.fixture
def organizer(db):
    return UserFactory(username="organizer", is_staff=True, is_superuser=True)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def participant_api(participant) -> APIClient:
    return api_client_for(participant)


@pytest.fixture
def organizer_api(organizer) -> APIClient:
    return api_client_for(organizer)


@pytest.fixture(scope="session")
def demo_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoBundle]:
    """Every demo task's bundle, built once per session (a task whose source is unavailable
    records why, and its tests skip)."""
    from datasets.demo import DEMO_TASKS, DemoSourceUnavailable

    root = tmp_path_factory.mktemp("demo-bundles")
    built: dict[str, DemoBundle] = {}
    for demo in DEMO_TASKS:
        try:
            path = demo.builder(out_dir=root / demo.slug, seed=0, cache_dir=DEMO_CACHE)
        except DemoSourceUnavailable as exc:
            built[demo.slug] = DemoBundle(demo.slug, demo.track_slug, None, str(exc))
        else:
            built[demo.slug] = DemoBundle(demo.slug, demo.track_slug, path)
    return built


@pytest.fixture
def demo_bundle(request, demo_bundles: dict[str, DemoBundle]) -> DemoBundle:
    """The bundle of the demo task named by the test's ``slug`` parameter."""
    bundle = demo_bundles[request.param]
    if bundle.path is None:
        pytest.skip(f"demo source unavailable: {bundle.unavailable}")
    return bundle
