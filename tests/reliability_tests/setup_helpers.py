"""The reliability tests' world: a task imported from a bundle, a participant in a team, and
a valid prediction file to upload (no test module imports another:
tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from challenges.models import Challenge
from datasets.models import Task
from datasets.services import task_import
from testkit.bundles import write_classification_bundle
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_key,
)


@dataclass
class Setup:
    task: Task
    client: APIClient
    user: object
    predictions: bytes

    def upload(self, content: bytes | None = None, name: str = "predictions.csv"):
        return self.client.post(
            f"/api/v1/tasks/{self.task.slug}/submissions/",
            {"file": SimpleUploadedFile(name, content or self.predictions)},
            format="multipart",
        )


def make_setup(folder: Path, *, challenge: Challenge | None = None, **challenge_fields) -> Setup:
    """A task imported from a bundle, a participant in a team, and a valid prediction file."""
    challenge = challenge or ChallengeFactory(**{"daily_submission_limit": 50, **challenge_fields})
    slug = f"rel-{challenge.slug}"
    bundle = write_classification_bundle(folder / "bundle", rows=60, task={"slug": slug})
    task = task_import(source=bundle, challenge_slug=challenge.slug, track_slug=slug)
    user = UserFactory()
    team = TeamFactory(challenge=challenge)
    add_member(team, user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    test_ids = [f"t{i:04d}" for i in range(task.test_rows)]
    classes = list(task.classes)
    rows = "".join(f"{i},{classes[n % len(classes)]}\n" for n, i in enumerate(test_ids))
    return Setup(task=task, client=client, user=user, predictions=f"id,label\n{rows}".encode())
