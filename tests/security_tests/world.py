"""A small but real challenge for the security tests: every object a URL can point at.

One classification task imported from a bundle through ``datasets.services.task_import``,
two teams (A and B) with one member each, one scored submission per team (scored by the
real scoring task body), an organizer, a baseline run with stored artifacts, a worker
heartbeat and an auth group. ``secrets`` lists what only the organizer may ever see.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, BaselineRun
from algorithms.sandbox.base import SandboxLimits
from algorithms.sandbox.outcome import message as outcome_message
from algorithms.services.builtin import baseline_algorithm_version
from algorithms.services.upload import algorithm_version_create
from challenges.models import Challenge, Team, WorkerHeartbeat
from datasets.models import Task
from datasets.services import task_import
from scoring.models import Submission, SubmissionStatus
from scoring.services.upload import submission_create
from scoring.tasks import score_submission
from testkit.bundles import write_classification_bundle
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_key,
)

PASSWORD = "pw-for-tests"
# Printed by team A's failing run (its last log line, so also in the run's error): a team's
# log is its own and the organizers' (issue 51), never in another's or an anonymous answer.
RUN_LOG_MARKER = "planted-log-line-7f3a9c"


@dataclass
class World:
    challenge: Challenge
    task: Task
    team_a: Team
    team_b: Team
    owned_task: Task  # owned by team C ("owner"); ``task`` has no owner
    users: dict[str, Any]  # role -> user ("a", "b", "org")
    tokens: dict[str, str]
    submission_a: Submission
    submission_b: Submission
    run: AlgorithmRun  # a finished baseline run with stored artifacts
    heartbeat: WorkerHeartbeat
    group: Group
    notes: dict[str, str]  # team -> its submission note (a secret of that team)
    files: dict[str, bytes]  # team -> its uploaded file
    algorithm: Algorithm | None = None  # team A's, with one version
    algorithm_run: AlgorithmRun | None = None  # a finished run of it
    failed_run: AlgorithmRun | None = None  # a failed run of it that printed RUN_LOG_MARKER
    solution_bytes: bytes = b""
    private_ids: list[str] = field(default_factory=list)
    solution_lines: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, Any]:
        """Values for the ``{placeholders}`` of the matrix paths."""
        return {
            "challenge": self.challenge.slug,
            "track": self.task.track.slug,
            "task": self.task.slug,
            "owned_task": self.owned_task.slug,
            "team_a": self.team_a.pk,
            "team_b": self.team_b.pk,
            "code_a": self.team_a.invite_code,
            "code_b": self.team_b.invite_code,
            "sub_a": self.submission_a.pk,
            "sub_b": self.submission_b.pk,
            "run": self.run.pk,
            "user_a": self.users["a"].pk,
            "algo_a": self.algorithm.pk if self.algorithm else 0,
            "algo_run_a": self.algorithm_run.pk if self.algorithm_run else 0,
        }

    def private_values(self) -> set[float]:
        """Private and all-rows metric values of every submission (hidden before reveal),
        minus those that are also a public value (they may legitimately be shown) and round
        ones like 0.8 (a chart's axis may carry them)."""
        public: set[float] = set()
        hidden: set[float] = set()
        for submission in (self.submission_a, self.submission_b):
            submission.refresh_from_db()
            public |= {round(v, 6) for v in submission.scores["public"].values() if v is not None}
            for split in ("private", "all"):
                hidden |= {v for v in submission.scores[split].values() if v is not None}
        return {v for v in hidden if round(v, 6) not in public and len(repr(v)) > 5}


def value_forms(value: float) -> list[str]:
    """How a score can appear in a page or a JSON body."""
    return [repr(value), json.dumps(value), f"{value:.6f}", f"{value:.4f}"]


def _predictions(solution: pd.DataFrame, *, public_right: float, private_right: float) -> bytes:
    """A labels-only CSV: the first share of each split's rows right, the rest wrong."""
    classes = sorted(solution["label"].unique())
    labels = []
    seen = {"public": 0, "private": 0}
    totals = solution["split"].value_counts().to_dict()
    for label, split in zip(solution["label"], solution["split"], strict=True):
        share = public_right if split == "public" else private_right
        right = seen[split] < round(share * totals[split])
        seen[split] += 1
        labels.append(label if right else classes[(classes.index(label) + 1) % len(classes)])
    frame = pd.DataFrame({"id": solution["id"], "label": labels})
    return frame.to_csv(index=False).encode()


def build_world(folder: Path) -> World:
    """Create every object; call with the database unblocked (rows are committed)."""
    tag = uuid.uuid4().hex[:6]
    challenge = ChallengeFactory(slug=f"sec-{tag}", daily_submission_limit=50)
    bundle = write_classification_bundle(
        folder / "bundle", rows=60, task={"slug": f"sec-task-{tag}"}
    )
    with mock.patch("leaderboard.refresh._intervals_requested", _bootstrap_now):
        task = task_import(source=bundle, challenge_slug=challenge.slug, track_slug=f"sec-{tag}")
    users = {
        "a": UserFactory(username=f"sec-alice-{tag}"),
        "b": UserFactory(username=f"sec-bob-{tag}"),
        "org": UserFactory(username=f"sec-org-{tag}", is_staff=True, is_superuser=True),
        # A member of team C, the team that contributed the task's data (its task owner).
        "owner": UserFactory(username=f"sec-owner-{tag}"),
    }
    team_a = TeamFactory(challenge=challenge, name=f"Team A {tag}")
    team_b = TeamFactory(challenge=challenge, name=f"Team B {tag}")
    team_c = TeamFactory(challenge=challenge, name=f"Team C {tag}")
    add_member(team_a, users["a"])
    add_member(team_b, users["b"])
    add_member(team_c, users["owner"])
    # A second task in the same track, owned by team C; ``task`` has no owner.
    owned = task_import(
        source=write_classification_bundle(
            folder / "owned", rows=40, task={"slug": f"sec-owned-{tag}"}
        ),
        challenge_slug=challenge.slug,
        track_slug=f"sec-{tag}",
    )
    Task.objects.filter(pk=owned.pk).update(owner_team=team_c)
    tokens = {role: api_key(user) for role, user in users.items()}

    with task.solution.open("rb") as handle:
        solution_bytes = handle.read()
    solution = pd.read_parquet(io.BytesIO(solution_bytes))
    files = {
        "a": _predictions(solution, public_right=1.0, private_right=0.4),
        "b": _predictions(solution, public_right=0.6, private_right=0.85),
    }
    notes = {team: f"secret-note-of-team-{team}-{tag}" for team in ("a", "b")}
    submissions = {}
    with (
        mock.patch("jobs.lifecycle.publish", lambda *a, **kw: True),
        mock.patch("leaderboard.refresh._intervals_requested", _bootstrap_now),
    ):
        for team in ("a", "b"):
            created = submission_create(
                task=task,
                user=users[team],
                file=SimpleUploadedFile("predictions.csv", files[team]),
                note=notes[team],
            )
            assert score_submission.run(submission_pk=created.pk) == SubmissionStatus.SCORED
            submissions[team] = Submission.objects.get(pk=created.pk)

    run = BaselineRun.objects.create(
        version=baseline_algorithm_version(challenge=challenge),
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        options={"presets": "medium_quality", "time_limit": 10, "hard_timeout": 100},
        log_tail="fitting...",
        finished_at=timezone.now(),
    )
    storage = AlgorithmRun._meta.get_field("predictions").storage
    run.artifacts = {
        "fit.log": storage.save(f"algorithm-runs/{task.slug}/fit.log", ContentFile(b"log\n")),
        "leaderboard.csv": storage.save(
            f"algorithm-runs/{task.slug}/leaderboard.csv", ContentFile(b"model,score\nlgbm,0.5\n")
        ),
    }
    run.save(update_fields=["artifacts"])
    heartbeat = WorkerHeartbeat.objects.create(hostname=f"sec-{tag}", seen_at=timezone.now())
    group = Group.objects.create(name=f"sec-group-{tag}")

    version = algorithm_version_create(
        challenge=challenge,
        user=users["a"],
        file=SimpleUploadedFile("algorithm.zip", algorithm_archive()),
    )
    algorithm_run = AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        started_by=users["a"],
        log_tail="algorithm log",
        limits={"wall_seconds": 60},
        finished_at=timezone.now(),
    )

    failed_run = _failed_run(version, task, users["a"])

    private_ids = solution.loc[solution["split"] == "private", "id"].tolist()
    return World(
        challenge=challenge,
        task=task,
        team_a=team_a,
        team_b=team_b,
        owned_task=owned,
        users=users,
        tokens=tokens,
        submission_a=submissions["a"],
        submission_b=submissions["b"],
        run=run,
        heartbeat=heartbeat,
        group=group,
        notes=notes,
        files=files,
        algorithm=version.algorithm,
        algorithm_run=algorithm_run,
        failed_run=failed_run,
        solution_bytes=solution_bytes,
        private_ids=private_ids,
        solution_lines=[
            f"{i},{label}" for i, label in zip(solution["id"], solution["label"], strict=True)
        ],
    )


def _failed_run(version: Any, task: Task, user: Any) -> AlgorithmRun:
    """Team A's run that exited with code 3 after printing the marker, stored as the run
    pipeline stores it: the sandbox's own message (its last log line) and the log's tail."""
    log = f"loading /task\nTraceback (most recent call last):\nValueError: {RUN_LOG_MARKER}\n"
    limits = SandboxLimits()
    return AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.FAILED,
        started_by=user,
        exit_code=3,
        error=outcome_message(limits, code=3, hit=None, cancelled=False, log=log),
        log_tail=log,
        limits={"wall_seconds": 60},
        finished_at=timezone.now(),
    )


def algorithm_archive() -> bytes:
    """A minimal valid algorithm archive (algorithm.yaml and main.py)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("algorithm.yaml", "name: Matrix algorithm\ndescription: A test.\n")
        archive.writestr("main.py", "print('hello')\n")
    return buffer.getvalue()


def destroy_world(world: World) -> None:
    """Delete what ``build_world`` created (rows and stored files)."""
    tasks = (world.task, world.owned_task)
    for stored in (
        *(getattr(t, name) for t in tasks for name in ("train_csv", "train_parquet")),
        *(getattr(t, name) for t in tasks for name in ("test_csv", "test_parquet")),
        *(getattr(t, name) for t in tasks for name in ("images_zip", "solution")),
        *(v.archive for v in world.algorithm.versions.all()),
        *(v.archive for v in world.run.version.algorithm.versions.all()),
    ):
        if stored:
            stored.storage.delete(stored.name)
    storage = AlgorithmRun._meta.get_field("predictions").storage
    for stored_name in world.run.artifacts.values():
        storage.delete(stored_name)
    for submission in Submission.objects.filter(task=world.task):
        for stored in (submission.file, submission.predictions):
            if stored:
                stored.storage.delete(stored.name)
    Task.objects.filter(pk__in=[t.pk for t in tasks]).delete()
    Challenge.objects.filter(pk=world.challenge.pk).delete()
    WorkerHeartbeat.objects.filter(pk=world.heartbeat.pk).delete()
    Group.objects.filter(pk=world.group.pk).delete()
    for user in world.users.values():
        user.delete()


def _bootstrap_now(task_id: int) -> None:
    """Compute the bootstrap intervals in-process instead of queueing them."""
    from leaderboard.services import leaderboard_bootstrap_compute

    leaderboard_bootstrap_compute(task_id=task_id)


ROLES = ("anon", "a", "b", "org", "owner")  # owner: a member of the team owning owned_task


def client_for(world: World, role: str, **kwargs) -> Client:
    """A browser-like client: logged in by session for ``a``, ``b``, ``org``."""
    client = Client(**kwargs)
    if role != "anon":
        client.force_login(world.users[role])
    return client
