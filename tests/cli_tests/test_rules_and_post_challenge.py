"""``chal rules show|accept`` and ``chal leaderboard --post-challenge`` against a live server."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from challenges.models import Challenge, RulesAcceptance
from tests.leaderboard_tests.factories import make_team, scored


def test_rules_are_shown_then_accepted_and_a_stale_version_is_refused(chal, world, login_as):
    Challenge.objects.filter(pk=world.challenge.pk).update(
        rules="1. One account per person.\n2. No hand labelling.", rules_version=3
    )
    login_as("bob")
    shown = chal("rules", "show", world.challenge.slug)
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == "Rules of cli-cup, version 3:"
    assert "2. No hand labelling." in shown.out
    assert "Not accepted yet: chal rules accept cli-cup" in shown.out
    # Before accepting, creating a team is refused with the server's words.
    refused = chal("teams", "create", world.challenge.slug, "Bobs")
    assert refused.code == 1 and "rules" in refused.err

    stale = chal("rules", "accept", world.challenge.slug, "--version", "2")
    assert stale.code == 1 and stale.err.startswith("error: ")
    assert not RulesAcceptance.objects.filter(user=world.bob).exists()

    accepted = chal("rules", "accept", world.challenge.slug)
    assert accepted.code == 0, accepted.err
    assert accepted.out == "Accepted the rules of cli-cup (version 3).\n"
    assert RulesAcceptance.objects.filter(user=world.bob, version=3).exists()
    assert "You accepted version 3." in chal("rules", "show", world.challenge.slug).out
    as_json = json.loads(chal("rules", "show", world.challenge.slug, "--json").out)
    assert (as_json["version"], as_json["accepted"]) == (3, True)
    assert chal("teams", "create", world.challenge.slug, "Bobs").code == 0


def test_rules_of_a_challenge_without_rules_and_of_no_challenge(chal, world, login_as):
    login_as("alice")
    assert chal("rules", "show", world.challenge.slug).out == (
        "Challenge cli-cup has no rules to accept.\n"
    )
    none = chal("rules", "accept", world.challenge.slug)
    assert (none.code, none.err) == (1, "error: challenge cli-cup has no rules to accept\n")
    missing = chal("rules", "accept", "no-such-cup")
    assert missing.code == 1 and missing.err.startswith("error: ")
    assert "Traceback" not in missing.err
    bad = chal("rules", "accept", world.challenge.slug, "--version", "zero")
    assert bad.code == 2 and "not a version number" in bad.err


def test_the_post_challenge_board_of_a_task(chal, world, login_as):
    login_as("alice")
    now = timezone.now()
    Challenge.objects.filter(pk=world.challenge.pk).update(
        start=now - timedelta(days=10), end=now - timedelta(days=2)
    )
    blue = make_team(world.challenge, "Blue")
    scored(world.birds, world.red, 0.70, 0.71, minutes=-2000)  # before the end: not here
    scored(world.birds, world.red, 0.80, 0.81, minutes=5)
    scored(world.birds, blue, 0.90, 0.91, minutes=10)
    board = chal("leaderboard", world.birds.slug, "--post-challenge")
    assert board.code == 0, board.err
    lines = board.out.splitlines()
    assert lines[0] == (
        "Task cli-birds: post-challenge public board (accuracy, higher is better); uploads"
        " after the end, never in the standings"
    )
    assert lines[1].split() == ["rank", "team", "accuracy", "submitted", "(UTC)"]
    assert [line.split()[:3] for line in lines[3:]] == [
        ["1", "Blue", "0.9000"],
        ["2", "Red", "0.8000"],
    ]
    as_json = json.loads(chal("leaderboard", world.birds.slug, "--post-challenge", "--json").out)
    assert as_json["board"] == "post-challenge" and len(as_json["entries"]) == 2
    private = chal("leaderboard", world.birds.slug, "--post-challenge", "--split", "private")
    assert private.code == 1 and "hidden until the organizers reveal it" in private.err
    track = chal("leaderboard", "cli-classification", "--post-challenge")
    assert track.code == 1
    assert track.err == (
        "error: there is no task 'cli-classification' (post-challenge boards are per task)\n"
    )
    assert chal("leaderboard", world.pairs.slug, "--post-challenge").out.endswith(
        "No entries yet.\n"
    )
