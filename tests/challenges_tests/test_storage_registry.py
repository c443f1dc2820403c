"""What each app stores for a team, registered with ``team_storage_register``: the kinds kept
as rows are counted in one statement, a counter for what rows cannot say; a registration is
one of the two (challenges/upload_budget.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from challenges import upload_budget
from challenges.upload_budget import StoredFiles, team_storage_register, team_storage_use
from scoring.models import Submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    """An empty registry of this test's own (the apps' registrations are left as they are)."""
    monkeypatch.setattr(upload_budget, "_STORAGE", {})


def _uploads(*, team_pk: int) -> list[StoredFiles]:
    rows = Submission.objects.filter(team_id=team_pk, uploaded_by__isnull=False)
    return [StoredFiles(rows=rows, size="file_size"), StoredFiles(rows=rows, size="file_size")]


def test_rows_of_several_kinds_are_counted_in_one_statement_in_the_order_registered(
    registry, tmp_path, settings
):
    settings.TEAM_UPLOAD_RATE = "0"
    task = imported_task(tmp_path)
    alice = make_participant(task.track.challenge, username="alice", name="Alpha")
    content = csv_bytes(predictions_frame(task))
    for _ in range(2):
        response = alice.api().post(
            f"/api/v1/tasks/{task.slug}/submissions/", {"file": upload(content)}, format="multipart"
        )
        assert response.status_code == 201, response.content
    team_storage_register(label="pdfs", counter=lambda *, team_pk: (1, 500))
    team_storage_register(label="prediction files", rows=_uploads)
    team_storage_register(label="nothing yet", rows=lambda *, team_pk: [])

    with CaptureQueriesContext(connection) as seen:
        use = team_storage_use(team=alice.team)

    assert len(seen.captured_queries) == 1  # the counter asks nothing of the database
    assert list(use.parts) == ["pdfs", "prediction files", "nothing yet"]
    # The kind's two parts (the same rows twice here), summed: 2 x 2 files.
    assert use.parts["prediction files"] == (4, 4 * len(content))
    assert use.parts["nothing yet"] == (0, 0)
    assert use.total == 500 + 4 * len(content)
    assert use.described() == "1 pdf and 4 prediction files"


def test_a_registration_is_rows_or_a_counter_and_a_new_one_replaces_the_old(registry):
    with pytest.raises(TypeError, match="rows or counter"):
        team_storage_register(label="both", rows=_uploads, counter=lambda *, team_pk: (0, 0))
    with pytest.raises(TypeError, match="rows or counter"):
        team_storage_register(label="neither")
    alice = make_participant(ChallengeFactory(slug="cup"), username="alice", name="Alpha")
    team_storage_register(label="files", rows=_uploads)
    team_storage_register(label="files", counter=lambda *, team_pk: (2, 10))

    use = team_storage_use(team=alice.team)

    assert use.parts == {"files": (2, 10)}
    assert use.total == 10
