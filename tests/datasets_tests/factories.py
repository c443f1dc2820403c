"""Factories and helpers for the datasets tests: users with tokens, imported tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

from datasets.models import Task
from datasets.services import task_import
from testkit.bundles import (
    write_classification_bundle,
    write_matching_bundle,
    write_regression_bundle,
)
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, api_key

__all__ = [
    "ChallengeFactory",
    "TrackFactory",
    "UserFactory",
    "imported_task",
    "token_for",
]


def token_for(user) -> str:
    """A new API token key of the user."""
    return api_key(user)


def imported_task(
    tmp_path: Path,
    *,
    kind: str = "classification",
    slug: str | None = None,
    challenge_slug: str = "test-challenge",
    track_slug: str | None = None,
    **overrides: Any,
) -> Task:
    """A small valid bundle (see ``bundles.py``) imported through ``task_import``."""
    writer = {
        "classification": write_classification_bundle,
        "matching": write_matching_bundle,
        "regression": write_regression_bundle,
    }[kind]
    task_keys = dict(overrides.pop("task", {}) or {})
    if slug is not None:
        task_keys["slug"] = slug
    folder = tmp_path / f"bundle-{slug or kind}"
    writer(folder, task=task_keys, **overrides)
    return task_import(
        source=folder, challenge_slug=challenge_slug, track_slug=track_slug or f"{kind}-track"
    )


def api_client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client
