"""Helpers of test_insight.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import pandas as pd
from django.test import Client

from scoring.models import Submission, SubmissionStatus
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.factories import (
    csv_bytes,
    solution_frame,
)


def wrong_on(task, ids: set[str], *, score: bool = False) -> bytes:
    """A prediction file right on every row but ``ids`` (a different class there)."""
    truth = solution_frame(task)
    classes = list(task.classes)
    labels = []
    for row_id, label in zip(truth["id"], truth["label"].astype(str), strict=True):
        code = classes.index(label)
        labels.append(classes[(code + 1) % len(classes)] if row_id in ids else label)
    frame = pd.DataFrame({"id": truth["id"], "label": labels})
    if score:
        frame["score"] = [0.9 if label == "1" else 0.2 for label in labels]
    return csv_bytes(frame)


def scored(submission: Submission) -> Submission:
    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED, submission.error
    return submission


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


