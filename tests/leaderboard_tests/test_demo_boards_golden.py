"""The demo's boards, byte for byte (issue 67's acceptance: the leaderboard's restructuring
changes no board).

The demo challenge is built by ``load_demo`` itself (every demo task, its two phases, its
tracks, the example teams and their algorithm versions) with the product's public board
(``ladder-step``) and the clock frozen, without its slow and non-deterministic parts: the
AutoGluon baselines are not queued and the example teams' algorithms are not run in the
sandbox. Instead the demo's tasks get seeded entries through the real scoring service
(``submission_create_for_job`` then ``submission_score``, as a run leaves them): each
example team's prediction file (in the development phase recorded as the succeeded run of
its algorithm version, so the transfer matrix and P(first) have cells), the AutoGluon
baseline team's, and the trivial reference (``reference_trivial_ensure``); each task's
board is then refreshed and its intervals, rank sets and tiers computed.

Every board the demo shows is rendered, for an anonymous reader and for an organizer, at two
moments: in the development phase (its boards), then a day into the blind final phase (its
held-back rows released, every team entered again; the boards of both phases). The boards:
each task's board page, CSV and API (``?phase=``), each track's page, CSV and API
(``?phase=``; P(first), rank intervals), and, not by phase, each task's page and champion
API, each track's transfer page and API, and the challenge page. The answers are compared
with the golden file ``tests/leaderboard_tests/golden/demo_boards.json`` ("<moment>:
<reader> <path>" -> status and body, JSON bodies with sorted keys); a failure names the
number of differing boards and shows the first one's diff.

Re-record (only when a change of the boards is intended, and say so in the commit)::

    RECORD_GOLDEN=1 DJANGO_SETTINGS_MODULE=challenge_platform.settings.test \\
        DATA_DIR=$(mktemp -d) .venv/bin/python -m pytest -p no:cacheprovider \\
        tests/leaderboard_tests/test_demo_boards_golden.py

Made independent of what varies between runs, and nothing else:

- the clock: ``django.utils.timezone.now`` (also as the models' field default) answers a
  fixed instant, moved once to a day into the final phase;
- ids: the database's id sequences restart at 1 before the demo is built (rows rolled back
  by earlier tests, on PostgreSQL, otherwise leave gaps);
- per-request secrets in the pages: the CSRF token of the organizer's forms
  (``csrfmiddlewaretoken``) and the Content-Security-Policy ``nonce`` of inline styles and
  scripts are replaced by ``<per-request>``.

One golden file for both databases: SQLite and PostgreSQL give the same bytes (the boards'
metric columns follow the kind's order and the task page's example rows the table's, not the
order a database gives back a stored JSON object's keys: PostgreSQL's ``jsonb`` orders them
by length, then by name; 128 of the 290 answers differed before). Skipped when a
demo source cannot be had (the py-entitymatching sdist, kept in ``DEMO_CACHE_DIR``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from django.test import Client
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from challenges.models import Challenge, Team
from datasets.models import Task
from datasets.phase_versions import phase_versions_release, task_for_phase
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.services import leaderboard_bootstrap_compute
from operations import demo_entries
from operations.management.commands import load_demo as load_demo_command
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.references import reference_trivial_ensure
from scoring.services.upload import submission_create_for_job
from testkit.demo_data import DEMO_CACHE

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

GOLDEN_DIR = Path(__file__).parent / "golden"
RECORD = os.environ.get("RECORD_GOLDEN") == "1"
FROZEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CLOCK = {"now": FROZEN}  # what timezone.now answers: FROZEN, then a day into the final phase
# Share of wrong answers per entrant and a seed each: the example teams differ, the baseline
# is strong, so the boards have tiers, intervals and a champion question.
ENTRANTS = {"Example: majority rule": (0.3, 1), "Example: linear model": (0.26, 2)}
BASELINE = (0.12, 3)
# Per-request secrets in the pages: the CSRF token of a signed-in reader's forms and the
# nonce of the Content-Security-Policy on inline styles and scripts.
PER_REQUEST = re.compile(r'((?:name="csrfmiddlewaretoken" value|nonce)=")[^"]+(")')


def _truth(task: Task) -> pd.DataFrame:
    with task.solution.open("rb") as handle:
        return pd.read_parquet(handle)


def seeded_predictions(task: Task, *, wrong: float, seed: int) -> pd.DataFrame:
    """A valid prediction file of the task's kind with about ``wrong`` of it wrong."""
    rng = np.random.default_rng(seed)
    truth = _truth(task)
    n = len(truth)
    flip = rng.random(n) < wrong
    ids = truth["id"]
    if task.kind == "classification":
        classes = list(task.classes)
        codes = truth["label"].astype(str).map(classes.index).to_numpy()
        pred = np.where(
            flip, (codes + 1 + rng.integers(0, len(classes) - 1, n)) % len(classes), codes
        )
        frame = pd.DataFrame({"id": ids, "label": [classes[c] for c in pred]})
        proba = rng.dirichlet(np.ones(len(classes)), size=n)
        proba[np.arange(n), pred] += 1.0
        proba /= proba.sum(axis=1, keepdims=True)
        for j, name in enumerate(classes):
            frame[f"proba_{name}"] = proba[:, j]
        return frame
    if task.kind == "matching":
        y = truth["label"].astype(int).to_numpy()
        pred = np.where(flip, 1 - y, y)
        return pd.DataFrame(
            {"id": ids, "label": pred, "score": np.clip(pred * 0.6 + rng.random(n) * 0.4, 0, 1)}
        )
    if task.kind == "regression":
        y = truth["label"].astype(float).to_numpy()
        spread = float(np.std(y)) or 1.0
        return pd.DataFrame({"id": ids, "label": y + rng.normal(0, spread * wrong * 2, n)})
    if task.kind == "grouping":
        groups = truth["label"].astype(str).to_numpy()
        moved = np.where(flip, rng.permutation(groups), groups)
        return pd.DataFrame({"id": ids, "cluster": moved})
    raise AssertionError(f"no seeded predictions for the kind {task.kind!r}")


def _freeze_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """``timezone.now`` answers FROZEN, also as the default of the models' time fields
    (``default=timezone.now`` holds the function itself, and Django keeps it a second time in
    the field's cached ``_get_default`` once a row was made: an earlier test of the same
    process made one, so both are replaced, and both given back afterwards)."""
    real_now = timezone.now

    def frozen() -> datetime:
        return CLOCK["now"]

    monkeypatch.setattr(timezone, "now", frozen)
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if getattr(field, "default", None) is real_now:
                monkeypatch.setattr(field, "default", frozen)
                monkeypatch.setattr(field, "_get_default", frozen)


def _restart_id_sequences() -> None:
    sequences = connection.introspection.sequence_list()
    statements = connection.ops.sequence_reset_by_name_sql(no_style(), sequences)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _submit(tmp_path: Path, task: Task, team: Team, *, wrong: float, seed: int, phase_id):
    shown_task = task_for_phase(task=task, phase_id=phase_id)
    path = tmp_path / f"{task.slug}-{team.name.split()[-1]}-{seed}.csv"
    seeded_predictions(shown_task, wrong=wrong, seed=seed).to_csv(path, index=False)
    submission = submission_create_for_job(
        task=task, team=team, predictions=path, note="seeded", name=f"seeded-{seed}"
    )
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED, (
        task.slug,
        submission.error,
    )
    return submission


def _enter(tmp_path: Path, task: Task, teams: dict[str, Team], *, phase, runs: bool) -> None:
    """Each example team's entry on ``task`` in ``phase`` (with ``runs``: as its algorithm's
    succeeded run), the baseline team's, then the board refreshed with its intervals."""
    baseline = next(team for team in teams.values() if team.is_baseline)
    salt = 1000 * phase.pk + task.pk
    for offset, (name, (wrong, seed)) in enumerate(ENTRANTS.items()):
        submission = _submit(
            tmp_path, task, teams[name], wrong=wrong, seed=seed * 10000 + salt, phase_id=phase.pk
        )
        if not runs:
            continue
        version = AlgorithmVersion.objects.filter(algorithm__team=teams[name]).get()
        AlgorithmRun.objects.create(
            version=version,
            task=task,
            status=AlgorithmRunStatus.SUCCEEDED,
            submission=submission,
            cpu_seconds=10.0 + offset,
            finished_at=CLOCK["now"],
        )
    wrong, seed = BASELINE
    _submit(tmp_path, task, baseline, wrong=wrong, seed=seed * 10000 + salt, phase_id=phase.pk)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk)


@pytest.fixture
def demo(tmp_path, monkeypatch, settings):
    """The demo challenge with seeded entries on every task, the clock frozen."""
    settings.PUBLIC_BOARD_DEFAULT = "ladder-step"  # the product's (the tests' settings: plain)
    _freeze_clock(monkeypatch)
    _restart_id_sequences()
    # Ids restart at 1: an answer an earlier test of this worker kept under the same ids (the
    # champion's history, read at the real time) must not be read back.
    cache.clear()
    monkeypatch.setattr(load_demo_command, "baselines_queue_for_challenge", lambda *, challenge: [])
    monkeypatch.setattr(demo_entries, "algorithm_runs_queue", lambda **kwargs: [])
    call_command("load_demo", "--cache-dir", str(DEMO_CACHE), stdout=StringIO(), stderr=StringIO())
    challenge = Challenge.objects.get(slug="demo")
    tasks = list(Task.objects.filter(track__challenge=challenge).order_by("track__order", "slug"))
    if len(tasks) != len(load_demo_command.demo_tasks.DEMO_TASKS):
        pytest.skip("a demo source is unavailable (see DEMO_CACHE_DIR)")
    teams = {team.name: team for team in Team.objects.filter(challenge=challenge)}
    dev = challenge.phases.get(slug="dev")
    for task in tasks:
        reference_trivial_ensure(task=task)
        _enter(tmp_path, task, teams, phase=dev, runs=True)

    def final_phase() -> None:
        """A day into the blind final phase: its held-back rows released, every team enters."""
        final = challenge.phases.get(slug="final")
        monkeypatch.setitem(CLOCK, "now", final.start + timedelta(days=1))
        phase_versions_release(phase_id=final.pk)
        for task in tasks:
            _enter(tmp_path, task, teams, phase=final, runs=False)

    return challenge, tasks, final_phase


def _readers() -> dict[str, Client]:
    organizer, _ = get_user_model().objects.get_or_create(
        username="golden-organizer", defaults={"is_staff": True, "is_superuser": True}
    )
    signed_in = Client()
    signed_in.force_login(organizer)
    return {"anonymous": Client(), "organizer": signed_in}


def _paths(challenge: Challenge, tasks: list[Task], phases: list[str]) -> list[str]:
    tracks = list(challenge.tracks.order_by("order").values_list("slug", flat=True))
    paths = [f"/c/{challenge.slug}/"]
    for phase in phases:
        q = f"?phase={phase}"
        for task in tasks:
            paths += [
                f"/tasks/{task.slug}/leaderboard/{q}",
                f"/tasks/{task.slug}/leaderboard.csv{q}",
                f"/api/v1/tasks/{task.slug}/leaderboard/{q}",
            ]
        for track in tracks:
            paths += [
                f"/tracks/{track}/{q}",
                f"/tracks/{track}/leaderboard.csv{q}",
                f"/api/v1/tracks/{track}/leaderboard/{q}",
            ]
    for task in tasks:
        paths += [f"/tasks/{task.slug}/", f"/api/v1/tasks/{task.slug}/champion/"]
    for track in tracks:
        paths += [f"/tracks/{track}/transfer/", f"/api/v1/tracks/{track}/transfer/"]
    return paths


def normalised(body: str) -> str:
    return PER_REQUEST.sub(r"\1<per-request>\2", body)


def rendered(
    challenge: Challenge, tasks: list[Task], *, moment: str, phases: list[str]
) -> dict[str, dict]:
    """Every board at this ``moment`` of the challenge, by "<moment>: <reader> <path>"."""
    boards: dict[str, dict] = {}
    readers = _readers()
    for path in _paths(challenge, tasks, phases):
        for reader, client in readers.items():
            response = client.get(path)
            body = response.content.decode()
            if "json" in response.get("Content-Type", ""):
                body = json.dumps(json.loads(body), indent=1, sort_keys=True)
            boards[f"{moment}: {reader} {path}"] = {
                "status": response.status_code,
                "body": normalised(body),
            }
    return boards


def _first_difference(golden: dict[str, dict], now: dict[str, dict]) -> str:
    missing = sorted(set(golden) - set(now))
    extra = sorted(set(now) - set(golden))
    if missing or extra:
        return f"boards missing now: {missing[:5]}; boards new now: {extra[:5]}"
    for name in golden:
        if golden[name] != now[name]:
            if golden[name]["status"] != now[name]["status"]:
                return f"{name}: status {golden[name]['status']} then, {now[name]['status']} now"
            diff = difflib.unified_diff(
                golden[name]["body"].splitlines(),
                now[name]["body"].splitlines(),
                "golden",
                "now",
                n=2,
                lineterm="",
            )
            excerpt = "\n".join(list(diff)[:60])
            changed = sum(golden[n] != now[n] for n in golden)
            return f"{changed} board(s) differ; the first, {name}:\n{excerpt}"
    return ""


def test_the_demo_boards_are_the_recorded_ones(demo) -> None:
    challenge, tasks, final_phase = demo
    now = rendered(challenge, tasks, moment="development phase", phases=["dev"])
    final_phase()
    now |= rendered(challenge, tasks, moment="final phase", phases=["dev", "final"])
    golden_file = GOLDEN_DIR / "demo_boards.json"
    if RECORD:
        GOLDEN_DIR.mkdir(exist_ok=True)
        golden_file.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    assert golden_file.exists(), f"no golden file {golden_file}: record it (RECORD_GOLDEN=1)"
    golden = json.loads(golden_file.read_text())
    difference = _first_difference(golden, now)
    assert not difference, (
        f"The demo's boards are not the recorded ones ({golden_file}; if the change is"
        f" intended, re-record with RECORD_GOLDEN=1, see this module's docstring).\n{difference}"
    )
