"""Hand-built tasks and scored submissions for leaderboard tests (no files needed)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from challenges.models import Team
from datasets.models import Task
from scoring.models import Submission, SubmissionStatus
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory


def make_task(track=None, *, slug: str, kind: str = "classification") -> Task:
    track = track or TrackFactory(challenge=ChallengeFactory())
    return Task.objects.create(
        track=track,
        slug=slug,
        title=slug.title(),
        kind=kind,
        primary_metric="accuracy" if kind == "classification" else "f1",
        classes=["a", "b"] if kind == "classification" else ["0", "1"],
        train_csv="x",
        train_parquet="x",
        test_csv="x",
        test_parquet="x",
        solution="x",
    )


def make_team(challenge, name: str, *, baseline: bool = False) -> Team:
    return Team.objects.create(challenge=challenge, name=name, is_baseline=baseline)


def scored(
    task: Task,
    team: Team,
    public: float | None,
    private: float | None = None,
    *,
    minutes: int = 0,
    final: bool = False,
    status: str = SubmissionStatus.SCORED,
) -> Submission:
    metric = task.primary_metric
    sub = Submission.objects.create(
        task=task,
        team=team,
        file="x",
        status=status,
        is_final=final,
        public_score=public if status == SubmissionStatus.SCORED else None,
        private_score=private if status == SubmissionStatus.SCORED else None,
        scores={"public": {metric: public}, "private": {metric: private}, "all": {metric: public}}
        if status == SubmissionStatus.SCORED
        else {},
    )
    # created_at is auto_now_add: set a controlled time for tie-breaking.
    at = timezone.now().replace(microsecond=0) - timedelta(days=1) + timedelta(minutes=minutes)
    Submission.objects.filter(pk=sub.pk).update(created_at=at)
    sub.refresh_from_db()
    return sub
