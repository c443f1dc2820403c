"""The blind-phase world the leak, transfer and export tests share
(docs/decisions/0066-phases.md): a development phase that ended, a blind final phase open
now, two teams' entries and the AutoGluon baseline's scored in it, a team's method run in
it, a webhook, and every printed form of the blind entries' scores (``hidden``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.builtin import baseline_team_get_or_create
from leaderboard.champion.services import champion_check_run, champion_ensure
from leaderboard.models import ChampionCheck, ChampionCheckStatus
from notifications.models import Webhook
from notifications.services import preferences_set
from tests.challenges_tests.factories import UserFactory
from tests.leaderboard_tests.ladder_world import number_forms, random_label_task, upload
from tests.scoring_tests.factories import ChallengeFactory, make_participant
from tests.support.phases import dev_then_final

PUBLIC_ROWS = 331


@pytest.fixture
def blind_world(tmp_path: Path, redis_server, django_capture_on_commit_callbacks, settings):
    settings.TEAM_UPLOAD_RATE = "0"
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="blind-cup",
        daily_submission_limit=100,
        start=now - timedelta(days=20),
        end=now + timedelta(days=20),
    )
    organizer = UserFactory(username="org", is_staff=True)
    _dev, final = dev_then_final(
        challenge=challenge,
        organizer=organizer,
        dev_end=now - timedelta(days=1),
        final_start=now - timedelta(hours=2),
        final_end=now + timedelta(days=20),
    )
    planted = random_label_task(
        tmp_path, challenge="blind-cup", slug="blindtask", rows=2 * PUBLIC_ROWS + 2,
        mode="plain", public_fraction=PUBLIC_ROWS / (2 * PUBLIC_ROWS + 2),
    )  # fmt: skip
    task = planted.task
    Webhook.objects.create(challenge=challenge, url="https://hooks.example.com/x", secret="s")
    ours = make_participant(challenge, name="ours")
    theirs = make_participant(challenge, name="theirs")
    for who in (ours, theirs):  # the scored mail is opt-in: asked for, it must stay blind
        preferences_set(user=who.user, choices={"submission_scored": True})
    baseline = baseline_team_get_or_create(challenge=challenge)
    rng = np.random.default_rng(11)

    def labels(right: float) -> np.ndarray:
        wrong = np.where(planted.truth == "0", "1", "0")
        return np.where(rng.random(planted.truth.size) < right, planted.truth, wrong)

    reference_values = labels(0.6)
    with django_capture_on_commit_callbacks(execute=True):
        upload(planted, baseline, reference_values, tmp_path, "baseline")
        champion_ensure(task=task)
        entries = [
            upload(planted, who.team, labels(right), tmp_path, f"e{i}")
            for i, (who, right) in enumerate([(ours, 0.71), (ours, 0.83), (theirs, 0.77)])
        ]
        for check in ChampionCheck.objects.filter(status=ChampionCheckStatus.QUEUED):
            champion_check_run(check_pk=check.pk)
    assert {e.phase_id for e in entries} == {final.pk}, "they arrived in the final phase"
    algorithm = Algorithm.objects.create(challenge=challenge, team=ours.team, name="ours-method")
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="x.zip", archive_sha256="0" * 64
    )
    AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=entries[0],
        phase=final,
        cpu_seconds=12.0,
        finished_at=timezone.now(),
    )
    hidden: set[str] = set()
    for entry in entries:
        entry.refresh_from_db()
        for split in entry.scores.values():
            for value in split.values():
                if isinstance(value, float):
                    hidden.update(number_forms(value))
    assert hidden
    return {
        "challenge_row": challenge,
        "organizer": organizer,
        "task": task.slug,
        "track": task.track.slug,
        "challenge": challenge.slug,
        "submissions": [e.pk for e in entries],
        "team": ours.team.pk,
        "other_team": theirs.team.pk,
        "ours": ours,
        "theirs": theirs,
        "hidden": hidden,
    }
