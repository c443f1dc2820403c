"""The demo challenge's example teams: real entries on every demo task, so that its boards
rank teams and show their tiers from the first hour (docs/participants/read-the-boards.md).

Each example team is an ordinary team of one member, a user that cannot log in
(``example-*``, no usable password), with one algorithm whose files are in this repository
(``operations/demo_algorithms/<name>/``: never imported by the platform, only zipped and run
in the sandbox, as the AutoGluon baseline's folder is). ``load_demo`` makes them through the
participants' own services: the team (``team_create``), the upload
(``algorithm_version_create``) and "run on every task" (``algorithm_runs_queue``). So each run
is a team's run, in the sandbox, and its predictions become the team's submission, scored and
ranked like any other, in the phase open when it was queued (the development phase).

Idempotent, as ``load_demo`` runs at every start: the team, the user and a version whose
archive is unchanged are kept, and a task on which that version has a run (queued, running
or finished, failed ones too: nothing is retried by a restart) gets no other. A changed
folder (a deploy) is uploaded as the next version and run on every task.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from algorithms.models import AlgorithmVersion
from algorithms.services.builtin import baseline_archive
from algorithms.services.common import AlgorithmRefused
from algorithms.services.runs import algorithm_runs_queue
from algorithms.services.upload import algorithm_version_create
from challenges.models import Challenge, Team
from challenges.rules import RulesError, RulesNotAccepted, rules_accept, rules_accepted
from challenges.selectors import team_for_user
from challenges.services import TeamError, team_create
from datasets.models import Task

logger = logging.getLogger(__name__)

ALGORITHMS_DIR = Path(__file__).resolve().parent / "demo_algorithms"


@dataclass(frozen=True)
class ExampleTeam:
    """One example team: its name, its member's username and its algorithm's folder."""

    team: str
    username: str
    folder: str

    @property
    def source(self) -> Path:
        return ALGORITHMS_DIR / self.folder


EXAMPLE_TEAMS: tuple[ExampleTeam, ...] = (
    # The manual's example algorithm (docs/participants/submit-an-algorithm.md), as shown there.
    ExampleTeam("Example: majority rule", "example-majority", "majority"),
    # Linear models of scikit-learn on hashed words, numbers and pixels; pair features for
    # matching; character n-gram neighbours for grouping. Seconds a task on the demo's data.
    ExampleTeam("Example: linear model", "example-linear", "linear"),
)


def demo_entries_ensure(*, challenge: Challenge) -> str:
    """Make the example teams, their versions and their runs on every task of the demo that
    has none yet; returns a line to print."""
    tasks = list(Task.objects.filter(track__challenge=challenge).order_by("track__order", "slug"))
    if not tasks:
        return "example teams: no tasks yet, skipped"
    parts = []
    for example in EXAMPLE_TEAMS:
        try:
            queued = _ensure(example, challenge=challenge, tasks=tasks)
        except (AlgorithmRefused, TeamError, RulesError) as exc:
            parts.append(f"{example.team}: not run ({exc})")
        except RulesNotAccepted as exc:
            parts.append(f"{example.team}: not run ({exc.detail()})")
        else:
            parts.append(f"{example.team}: {queued} run(s) queued")
    return "example teams: " + "; ".join(parts)


def _ensure(example: ExampleTeam, *, challenge: Challenge, tasks: list[Task]) -> int:
    user = _member(example)
    if not rules_accepted(challenge=challenge, user=user):
        rules_accept(challenge=challenge, user=user, version=challenge.rules_version)
    team = _team(example, challenge=challenge, user=user)
    version = _version(example, challenge=challenge, team=team, user=user)
    done = set(version.runs.values_list("task_id", flat=True))
    missing = [task.slug for task in tasks if task.pk not in done]
    if not missing:
        return 0
    latest = version.algorithm.versions.order_by("-number").first()
    if latest is None or latest.pk != version.pk:  # "run" runs the algorithm's latest
        raise AlgorithmRefused("stale", f"version {version.number} is not its latest")
    runs = algorithm_runs_queue(algorithm=version.algorithm, user=user, task_slugs=missing)
    return len(runs)


def _member(example: ExampleTeam):
    """The example team's member: made once, with no usable password (nobody logs in)."""
    user, created = get_user_model().objects.get_or_create(username=example.username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _team(example: ExampleTeam, *, challenge: Challenge, user) -> Team:
    team = team_for_user(user=user, challenge=challenge)
    if team is not None:
        return team
    return team_create(challenge=challenge, user=user, name=example.team)


def _version(example: ExampleTeam, *, challenge: Challenge, team: Team, user) -> AlgorithmVersion:
    """The team's version of the folder's archive: the one uploaded before when the files
    are the same, else uploaded now (the next version)."""
    data = baseline_archive(source=example.source)
    digest = hashlib.sha256(data).hexdigest()
    existing = (
        AlgorithmVersion.objects.filter(algorithm__team=team, archive_sha256=digest)
        .select_related("algorithm")
        .order_by("-number")
        .first()
    )
    if existing is not None:
        return existing
    upload = SimpleUploadedFile(f"{example.folder}.zip", data, content_type="application/zip")
    version = algorithm_version_create(challenge=challenge, user=user, file=upload)
    logger.info("example team %s: version %s uploaded", team.name, version.number)
    return version
