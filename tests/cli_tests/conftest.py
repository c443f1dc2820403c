"""Fixtures of the command-line client tests: a live server with a small challenge in it.

The client runs in-process (``main(argv)``) against pytest-django's ``live_server``, real
HTTP on localhost, with its configuration file under ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from chal_client.main import main
from challenges.models import Challenge, Team
from datasets.models import Task
from datasets.services import task_import
from testkit.bundles import write_classification_bundle, write_matching_bundle
from tests.challenges_tests.factories import (
    PASSWORD,
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
)
from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures


def _stored_files() -> set[Path]:
    roots = [
        Path(settings.MEDIA_ROOT),
        Path(settings.PRIVATE_ROOT),
        Path(settings.DATA_DIR) / "staging",
    ]
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Fresh throttle counters (kept in this process's cache, which the live server shares);
    the task and submission files a test stored are removed afterwards."""
    cache.clear()
    before = _stored_files()
    yield
    for path in _stored_files() - before:
        path.unlink(missing_ok=True)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``CHAL_CONFIG`` under ``tmp_path``; no ``CHAL_SERVER``/``CHAL_TOKEN`` from outside."""
    path = tmp_path / "chal" / "config.json"
    monkeypatch.setenv("CHAL_CONFIG", str(path))
    monkeypatch.delenv("CHAL_SERVER", raising=False)
    monkeypatch.delenv("CHAL_TOKEN", raising=False)
    return path


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def chal(config_file: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``chal <args>`` in-process; returns its exit code, stdout and stderr."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@dataclass(frozen=True)
class World:
    """A challenge open now with two tracks, one task each, and a team."""

    url: str
    challenge: Challenge
    birds: Task  # classification, CSV bundle
    pairs: Task  # matching, Parquet bundle with images
    red: Team  # alice's team
    alice: object
    bob: object  # no team yet


@pytest.fixture
def world(live_server, transactional_db, tmp_path: Path) -> World:
    challenge = ChallengeFactory(slug="cli-cup", title="CLI cup", daily_submission_limit=2)
    birds = task_import(
        source=write_classification_bundle(tmp_path / "birds", task={"slug": "cli-birds"}),
        challenge_slug=challenge.slug,
        track_slug="cli-classification",
    )
    pairs = task_import(
        source=write_matching_bundle(
            tmp_path / "pairs", task={"slug": "cli-pairs"}, fmt="parquet", images=True
        ),
        challenge_slug=challenge.slug,
        track_slug="cli-matching",
    )
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    red = TeamFactory(challenge=challenge, name="Red")
    add_member(red, alice)
    return World(
        url=live_server.url,
        challenge=challenge,
        birds=birds,
        pairs=pairs,
        red=red,
        alice=alice,
        bob=bob,
    )


@pytest.fixture
def login_as(chal: Callable[..., Run], world: World, monkeypatch: pytest.MonkeyPatch):
    """Log the client in as ``username`` through ``chal login`` (the password prompt faked)."""

    def login(username: str) -> None:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
        result = chal("login", "--server", world.url, "--username", username)
        assert result.code == 0, result.err

    return login


@pytest.fixture
def broker(redis_server, redis_client):
    """The session's real Redis, emptied: uploads publish to it (no worker unless asked)."""
    redis_client.flushall()
    return redis_client
