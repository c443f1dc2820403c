"""Helpers of test_references.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from challenges.models import Team
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.models import Submission, SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.factories import (
    UserFactory,
    csv_bytes,
    make_participant,
    solution_frame,
    upload,
)


def wrong_on(task, ids: set[str]) -> bytes:
    """Right on every row but ``ids`` (the next class there)."""
    truth = solution_frame(task)
    classes = list(task.classes)
    labels = [
        classes[(classes.index(label) + 1) % len(classes)] if i in ids else label
        for i, label in zip(truth["id"], truth["label"].astype(str), strict=True)
    ]
    return csv_bytes(pd.DataFrame({"id": truth["id"], "label": labels}))


def scored(submission: Submission) -> Submission:
    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SCORED, submission.error
    return submission


def baseline_submission(task, content: bytes) -> Submission:
    team, _ = Team.objects.get_or_create(
        challenge=task.track.challenge, is_baseline=True, defaults={"name": "AutoGluon"}
    )
    sub = Submission(task=task, team=team, file_format="csv")
    sub.file.save("baseline.csv", ContentFile(content), save=False)
    sub.status_changed_at = timezone.now()
    sub.save()
    return scored(sub)


def organizer():
    return UserFactory(username="org", is_staff=True, is_superuser=True)


@pytest.fixture
def case(module_tasks):
    """Two teams and the AutoGluon baseline on the module's classification task."""
    task = module_tasks["classification"]
    truth = solution_frame(task)
    P = truth.loc[truth.split == "public", "id"].tolist()
    Q = truth.loc[truth.split == "private", "id"].tolist()
    files = {
        "base": wrong_on(task, {P[0], P[1], Q[0]}),
        "ann": wrong_on(task, {P[2], Q[1]}),
        "bo": wrong_on(task, {P[0], P[3], P[4], P[5], Q[0]}),
    }
    baseline_submission(task, files["base"])
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    bo = make_participant(task.track.challenge, username="bo", name="Bo")
    subs = {
        "ann": scored(submission_create(task=task, user=ann.user, file=upload(files["ann"]))),
        "bo": scored(submission_create(task=task, user=bo.user, file=upload(files["bo"]))),
    }
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=50)
    return {"task": task, "P": P, "Q": Q, "files": files, "subs": subs, "ann": ann, "bo": bo}


