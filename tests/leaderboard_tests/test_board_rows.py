"""Board rows rendered once per content (``{% board_row %}``): never stale, since the key is
everything the row shows."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client

from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.templatetags.board_rows import ROW_CACHE, row_key
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory

from .factories import make_task, make_team, scored

pytestmark = pytest.mark.django_db


def test_a_row_is_rendered_again_when_anything_it_shows_changes():
    caches[ROW_CACHE].clear()
    track = TrackFactory(challenge=ChallengeFactory(slug="c"), slug="trk")
    task = make_task(track, slug="t1")
    ann, bo = make_team(track.challenge, "ann"), make_team(track.challenge, "bo")
    scored(task, ann, 0.61)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    client = Client()
    first = client.get("/tasks/t1/leaderboard/").content.decode()
    assert "ann" in first and "0.6100" in first
    kept = len(caches[ROW_CACHE]._cache)
    assert kept >= 1  # the row is kept...
    assert client.get("/tasks/t1/leaderboard/").content.decode() == first  # ...and reused
    assert len(caches[ROW_CACHE]._cache) == kept

    ann.name = "annie"  # a rename changes nothing stored on the entry
    ann.save()
    scored(task, bo, 0.97, minutes=5)  # and a better team moves ann's row down
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    page = client.get("/tasks/t1/leaderboard/").content.decode()
    assert "annie" in page and "0.9700" in page
    assert page.index("bo") < page.index("annie")
    track_page = client.get("/tracks/trk/").content.decode()
    assert "annie" in track_page and "0.9700" in track_page


def test_the_key_covers_every_attribute_of_the_values_passed():
    track = TrackFactory(challenge=ChallengeFactory(slug="c2"), slug="trk2")
    task = make_task(track, slug="t2")
    entry_owner = make_team(track.challenge, "cy")
    scored(task, entry_owner, 0.5)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    entry = task.leaderboard_entries.get(split="public")
    before = row_key("leaderboard/_entry_row.html", {"e": entry, "values": [0.5]})
    entry.tied_with_best = not entry.tied_with_best
    assert row_key("leaderboard/_entry_row.html", {"e": entry, "values": [0.5]}) != before
    entry.tied_with_best = not entry.tied_with_best
    assert row_key("leaderboard/_entry_row.html", {"e": entry, "values": [0.5]}) == before
    entry.prize_ineligible = True  # an attribute a selector sets on the row
    assert row_key("leaderboard/_entry_row.html", {"e": entry, "values": [0.5]}) != before
