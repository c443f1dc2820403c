"""Frozen is not revealed (issue 25): after the freeze and before the reveal of the private
leaderboard, nobody but the organizers reads a private-split score or a private ranking, on
the standings API, the winners page, the track pages, the challenge page, `chal` or the
mail; at the reveal the hashed snapshot is published in full and its digest verifies."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chal_client.main import main as chal_main
from challenges.models import Challenge
from challenges.services import challenge_reveal
from leaderboard.refresh import task_leaderboard_refresh
from standings.core import canonical_json
from standings.models import FinalStandings
from standings.services import challenge_finish, standings_refreeze
from tests.challenges_tests.factories import UserFactory, api_key

from .reveal_helpers import PRIVATE, PRIVATE_TEXTS, PUBLIC, build_world


def digest_of(document: dict) -> str:
    """What a client recomputes: the canonical JSON of the document without ``sha256``."""
    body = {k: v for k, v in document.items() if k != "sha256"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()




def assert_no_private_text(text: str) -> None:
    """No private score as a number of its own (a timestamp's "40.455798" is not 0.455)."""
    leaked = [v for v in PRIVATE_TEXTS if re.search(rf"(?<![\w.]){re.escape(v)}(?!\d)", text)]
    assert not leaked, f"private scores leaked: {leaked}"


def track_names(document: dict) -> list[str]:
    (track,) = document["tracks"]
    return [e["team"] for e in track["entries"] if e["rank"] is not None]


@pytest.fixture
def world(db) -> Challenge:
    return build_world()


@pytest.fixture
def organizer_api(db) -> APIClient:
    api = APIClient()
    api.force_authenticate(UserFactory(username="org", is_staff=True))
    return api


def test_the_api_shows_the_public_split_until_the_reveal_then_the_snapshot(
    world: Challenge, organizer_api: APIClient
) -> None:
    frozen, _ = challenge_finish(challenge=world)
    participant = APIClient()
    participant.force_authenticate(UserFactory(username="pat"))
    for client in (APIClient(), participant):
        response = client.get("/api/v1/challenges/sealed/standings/")
        assert response.status_code == 200
        assert_no_private_text(response.content.decode())
        sealed = response.json()
        assert (sealed["split"], sealed["revealed"]) == ("public", False)
        assert sealed["frozen_at"] == frozen.frozen_at.isoformat()
        # The digest of the sealed snapshot is published at once (a commitment)...
        assert sealed["sha256"] == frozen.sha256
        assert track_names(sealed) == ["Dogs", "Cats", "Bees", "Owls"]  # public order
        assert {e["score"] for t in sealed["tasks"] for e in t["entries"]} <= set(PUBLIC.values())
        assert {t["split"] for t in sealed["tasks"]} == {"public"}
        entry = sealed["tracks"][0]["entries"][0]
        assert {"rank", "team", "score", "method"} <= set(entry)
        # ...but it is not the digest of what is shown.
        assert digest_of(sealed) != sealed["sha256"]

    # Organizers always read the snapshot itself, not yet revealed: it says so.
    preview = organizer_api.get("/api/v1/challenges/sealed/standings/").json()
    assert (preview["split"], preview["revealed"]) == ("private", False)
    assert track_names(preview) == ["Owls", "Bees", "Cats", "Dogs"]
    full = {**preview, "revealed": True}  # the text the digest covers, published at the reveal
    assert digest_of(full) == full["sha256"] == frozen.sha256

    challenge_reveal(challenge=world, revealed=True, actor=None)
    published = APIClient().get("/api/v1/challenges/sealed/standings/").json()
    assert published == full
    assert organizer_api.get("/api/v1/challenges/sealed/standings/").json() == full
    # Exactly what was hashed: the stored canonical text plus its digest.
    assert canonical_json({k: v for k, v in published.items() if k != "sha256"}) == (
        FinalStandings.objects.get().canonical
    )
    assert {e["score"] for t in published["tasks"] for e in t["entries"]} == set(PRIVATE.values())


def test_a_reveal_time_that_passed_publishes_the_snapshot(world: Challenge) -> None:
    challenge_finish(challenge=world)
    world.reveal_at = timezone.now() + timedelta(hours=1)
    world.save()
    assert APIClient().get("/api/v1/challenges/sealed/standings/").json()["revealed"] is False
    world.reveal_at = timezone.now() - timedelta(seconds=1)
    world.save()
    doc = APIClient().get("/api/v1/challenges/sealed/standings/").json()
    assert doc["revealed"] is True and digest_of(doc) == doc["sha256"]


def test_before_the_end_nothing_is_published(world: Challenge) -> None:
    doc = APIClient().get("/api/v1/challenges/sealed/standings/").json()
    assert doc["frozen_at"] is None and doc["sha256"] is None and doc["revealed"] is False
    assert doc["split"] is None  # no entries on any split (it said "private")
    assert all(not t["entries"] for t in doc["tracks"] + doc["tasks"])


def test_pages_name_no_winner_before_the_reveal(world: Challenge, client) -> None:
    challenge_finish(challenge=world)
    for path in ("/tracks/kway/winners/", "/c/sealed/", "/tracks/kway/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_no_private_text(page.content.decode())
    winners = client.get("/tracks/kway/winners/").content.decode()
    assert 'id="sealed"' in winners and 'class="card winner"' not in winners
    assert not any(f'data-team="{name}"' in winners for name in PUBLIC)
    challenge_page = client.get("/c/sealed/").content.decode()
    assert 'id="standings-sealed"' in challenge_page and "#1 Owls" not in challenge_page
    # The private boards stay hidden as before.
    assert client.get("/tracks/kway/?split=private").status_code == 404
    assert client.get("/tracks/kway/winners/").content.decode().count("#1") == 0

    client.force_login(UserFactory(username="org", is_staff=True))
    preview = client.get("/tracks/kway/winners/").content.decode()
    assert 'id="organizer-preview"' in preview and 'data-team="Owls"' in preview
    client.logout()

    challenge_reveal(challenge=world, revealed=True, actor=None)
    winners = client.get("/tracks/kway/winners/").content.decode()
    assert 'id="sealed"' not in winners and 'id="organizer-preview"' not in winners
    assert [f'data-team="{n}"' in winners for n in ("Owls", "Bees", "Cats", "Dogs")] == [
        True,
        True,
        True,
        False,
    ]
    assert "#1 Owls, #2 Bees, #3 Cats" in client.get("/c/sealed/").content.decode()


def test_a_refreeze_keeps_the_public_view_in_step(world: Challenge) -> None:
    frozen, _ = challenge_finish(challenge=world)
    before = json.loads(frozen.public_canonical)
    dogs = world.teams.get(name="Dogs")
    dogs.is_hidden = True
    dogs.save()
    for task in world.tracks.get().tasks.all():
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    refrozen, changed = standings_refreeze(challenge=world, actor=None, reason="Dogs cheated")
    assert changed
    after = APIClient().get("/api/v1/challenges/sealed/standings/").json()
    assert track_names(before)[0] == "Dogs" and "Dogs" not in track_names(after)
    assert after["sha256"] == refrozen.sha256 != frozen.sha256


@pytest.mark.django_db(transaction=True)
def test_chal_standings_before_and_after_the_reveal(live_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAL_CONFIG", str(tmp_path / "config.json"))
    monkeypatch.delenv("CHAL_TOKEN", raising=False)
    challenge = build_world()
    challenge_finish(challenge=challenge)

    def chal(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = chal_main(["standings", "sealed", "--server", live_server.url, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = chal()
    assert code == 0, err
    assert "sealed until the private leaderboard is revealed" in out
    assert_no_private_text(out)
    lines = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [parts[1] for parts in lines] == ["Dogs", "Cats", "Bees", "Owls"]
    code, out, _ = chal("--json")
    assert json.loads(out)["revealed"] is False
    assert_no_private_text(out)
    capsys.readouterr()
    board = chal_main(["leaderboard", "kway", "--split", "private", "--server", live_server.url])
    refused = capsys.readouterr()
    assert board == 1 and "hidden until the organizers reveal it" in refused.err
    assert_no_private_text(refused.out + refused.err)

    # An organizer reads the private snapshot before the reveal: verified, and marked as not
    # revealed to the participants yet.
    monkeypatch.setenv("CHAL_TOKEN", api_key(UserFactory(username="org", is_staff=True)))
    code, out, err = chal()
    assert code == 0, err
    assert "on the private split (not revealed to the participants yet);" in out
    assert "(verified)" in out
    code, out, _ = chal("--json")
    assert (json.loads(out)["split"], json.loads(out)["revealed"]) == ("private", False)
    monkeypatch.delenv("CHAL_TOKEN")

    Challenge.objects.filter(pk=challenge.pk).update(private_revealed=True)
    code, out, err = chal()
    assert code == 0, err
    assert "(verified)" in out and "not revealed" not in out
    lines = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [parts[1] for parts in lines] == ["Owls", "Bees", "Cats", "Dogs"]
    assert "0.6778" in out  # the private mean, now published
