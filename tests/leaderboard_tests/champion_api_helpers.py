"""Helpers of test_champion_api.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from challenges.models import Challenge
from datasets.models import Task
from tests.leaderboard_tests.champion_world import gate_task
from tests.scoring_tests.factories import (
    ChallengeFactory,
)


@pytest.fixture(scope="module")
def _gated_pk(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        challenge = ChallengeFactory(slug="gate-api", daily_submission_limit=3)
        task = gate_task(tmp_path_factory.mktemp("gate-api"), challenge_slug=challenge.slug)
    yield task.pk
    with django_db_blocker.unblock():
        Task.objects.filter(pk=task.pk).delete()
        Challenge.objects.filter(pk=challenge.pk).delete()


def check(client, task, **data):
    if "file" in data:
        return client.post(
            f"/api/v1/tasks/{task.slug}/release-check/",
            {"file": SimpleUploadedFile("p.csv", data["file"])},
            format="multipart",
        )
    return client.post(f"/api/v1/tasks/{task.slug}/release-check/", data, format="json")


