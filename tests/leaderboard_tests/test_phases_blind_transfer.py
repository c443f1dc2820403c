"""The transfer matrix and the results exports withhold a blind phase's cells, and only
those, until the reveal (docs/decisions/0066-phases.md): a run of a team's method made in
the blind final phase keeps its status without a score for participants and anonymous
readers, with a reason that names the blind phase; a run of the development phase keeps
its score; organizers read both; the reveal opens them."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from challenges.services import challenge_reveal
from datasets.models import Task
from scoring.models import Submission
from tests.scoring_tests.factories import api_client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(blind_world):
    """The blind-phase world (tests/leaderboard_tests/blind_phase_world.py)."""
    return blind_world


def _dev_run(world) -> AlgorithmRun:
    """A run of the other team's method, made in the development phase."""
    challenge = world["challenge_row"]
    dev = challenge.phases.get(slug="dev")
    theirs = world["theirs"]
    task = Task.objects.get(slug=world["task"])
    entry = Submission.objects.get(pk=world["submissions"][2])
    copy = Submission.objects.create(
        task=task,
        team=theirs.team,
        file=entry.file.name,
        status=entry.status,
        public_score=entry.public_score,
        private_score=entry.private_score,
        scores=entry.scores,
        phase=dev,
        predictions=entry.predictions.name,
    )
    algorithm = Algorithm.objects.create(challenge=challenge, team=theirs.team, name="dev-method")
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="y.zip", archive_sha256="1" * 64
    )
    return AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=copy,
        phase=dev,
        cpu_seconds=3.0,
        finished_at=timezone.now(),
    )


def _cells(client, track) -> tuple[dict[str, dict], dict | None]:
    body = client.get(f"/api/v1/tracks/{track}/transfer/").json()
    names = {a["id"]: a["name"] for a in body["algorithms"]}
    return {names[c["algorithm"]]: c for c in body["cells"]}, body["withheld"]


def test_only_the_blind_phase_cells_are_withheld(world):
    _dev_run(world)
    for client in (api_client_for(None), api_client_for(world["theirs"].user)):
        cells, withheld = _cells(client, world["track"])
        assert cells["ours-method"]["score"] is None
        assert "blind phase" in cells["ours-method"]["reason"]
        assert cells["dev-method"]["score"] is not None, "the development phase's cell stays"
        assert withheld is not None and "blind phase" in withheld["reason"]
        assert "ladder" not in withheld["reason"].lower()
        results = client.get(f"/api/v1/tracks/{world['track']}/results.csv").content.decode()
        assert "dev-method" in results and "ours-method" not in results
    organizer, _ = _cells(api_client_for(world["organizer"]), world["track"])
    assert organizer["ours-method"]["score"] is not None
    challenge_reveal(challenge=world["challenge_row"], actor=world["organizer"], reason="done")
    cells, withheld = _cells(api_client_for(None), world["track"])
    assert cells["ours-method"]["score"] is not None and withheld is None
    assert np.isfinite(cells["dev-method"]["score"])
