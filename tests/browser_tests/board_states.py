"""A scored task board of four teams, the state several browser tests start from (the
manual's board pictures, the board per phase)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.models import SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)

PASSWORD = "pw-for-tests"  # what UserFactory sets

# team -> share of wrong labels in its file
TEAMS = {"Owls": 0.08, "Hawks": 0.15, "Kestrels": 0.22, "Herons": 0.35}


def scored_board(tmp_path):
    """A classification task of 400 rows, four teams' files with probabilities scored, the
    references built and the bootstrap intervals computed; returns the task and the Owls'
    submission."""
    challenge = ChallengeFactory(title="Spring benchmark")
    task = imported_task(tmp_path, kind="classification", challenge=challenge, rows=400)
    made = {}
    # The Owls sent a weaker file first: their page shows the flips against it.
    files = [("Owls", 0.3), *TEAMS.items()]
    users = {}
    for seed, (name, wrong) in enumerate(files):
        if name not in users:
            users[name] = make_participant(challenge, username=name.lower(), name=name).user
        content = csv_bytes(predictions_frame(task, wrong=wrong, scores=True, seed=seed))
        sub = submission_create(
            task=task, user=users[name], file=SimpleUploadedFile("predictions.csv", content)
        )
        solution_cache.items.clear()
        score_submission.run(submission_pk=sub.pk)
        sub.refresh_from_db()
        assert sub.status == SubmissionStatus.SCORED, sub.error
        made[name] = sub
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)
    return task, made["Owls"]
